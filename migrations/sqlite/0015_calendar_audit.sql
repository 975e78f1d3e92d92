-- Calendars added, replaced and removed are recorded in the audit log (issue 17): three more
-- actions. Kept in step with migrations/postgres.
--
-- SQLite cannot change a CHECK in place: the table is rebuilt with the new list (Rota's
-- migrations run in one transaction, so a failure leaves the old table). The list also names
-- `access.granted` and `access.revoked` (Postgres's 0014), which SQLite, single-user, never
-- writes, so that both backends' CHECK lists match `AuditAction` exactly. Dropping the old
-- table drops its triggers first (no append-only trigger fires); the indexes and triggers
-- are made again on the new one.
CREATE TABLE audit_log_rebuilt (
    id           BLOB PRIMARY KEY NOT NULL,
    at           BIGINT NOT NULL,
    operator     TEXT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN (
                     'tenant.created', 'tenant.updated', 'tenant.policy_set',
                     'tenant.settings_set', 'handler.set', 'job.created', 'job.updated',
                     'job.policy_set', 'job.paused', 'job.resumed', 'job.enabled',
                     'job.disabled', 'job.auto_disabled', 'job.deleted', 'job.triggered',
                     'job.backfilled', 'access.granted', 'access.revoked',
                     'calendar.created', 'calendar.updated', 'calendar.removed')),
    tenant_id    BLOB,
    tenant       TEXT,
    job_id       BLOB,
    job          TEXT,
    handler      TEXT,
    before       TEXT,
    after        TEXT,
    display_name TEXT
);
INSERT INTO audit_log_rebuilt (id, at, operator, action, tenant_id, tenant, job_id, job, handler,
                               before, after, display_name)
    SELECT id, at, operator, action, tenant_id, tenant, job_id, job, handler, before, after,
           display_name
    FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_rebuilt RENAME TO audit_log;
CREATE INDEX audit_recent ON audit_log (at, id);
CREATE INDEX audit_by_tenant ON audit_log (tenant, at);
CREATE INDEX audit_by_job ON audit_log (job, at);

-- Append-only, as on Postgres (0005's triggers, made again).
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
