-- Notifications and the audit log (issue 5), SQLite dialect; kept in step with
-- migrations/postgres (see there for what each column is for).

ALTER TABLE tenants ADD COLUMN notify_run_failed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tenants ADD COLUMN notify_throttled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE tenants ADD COLUMN throttled_notified_at BIGINT;

-- SQLite: one ADD COLUMN per statement, and a CHECK on an added column is allowed.
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0);
ALTER TABLE outbox ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN failed_at BIGINT;
UPDATE outbox SET next_attempt_at = created_at;
CREATE INDEX outbox_pending ON outbox (next_attempt_at, id)
    WHERE delivered_at IS NULL AND failed_at IS NULL;

CREATE TABLE deliveries (
    id              BLOB PRIMARY KEY NOT NULL,
    event_id        BLOB NOT NULL,
    tenant_id       BLOB NOT NULL,
    event_type      TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('webhook', 'email')),
    target          TEXT NOT NULL,
    attempt         INTEGER NOT NULL CHECK (attempt >= 1),
    status          TEXT NOT NULL CHECK (status IN ('delivered', 'retrying', 'failed')),
    http_status     INTEGER,
    smtp_reply      TEXT,
    error           TEXT,
    node            TEXT NOT NULL,
    at              BIGINT NOT NULL,
    duration_ms     BIGINT NOT NULL,
    next_attempt_at BIGINT
);
CREATE INDEX deliveries_by_event ON deliveries (event_id, channel);
CREATE INDEX deliveries_recent ON deliveries (at, id);
CREATE INDEX deliveries_by_tenant ON deliveries (tenant_id, at);

CREATE TABLE audit_log (
    id        BLOB PRIMARY KEY NOT NULL,
    at        BIGINT NOT NULL,
    operator  TEXT NOT NULL,
    action    TEXT NOT NULL CHECK (action IN (
                  'tenant.created', 'tenant.updated', 'tenant.policy_set', 'tenant.settings_set',
                  'handler.set', 'job.created', 'job.updated', 'job.policy_set', 'job.paused',
                  'job.resumed', 'job.enabled', 'job.disabled', 'job.auto_disabled',
                  'job.deleted', 'job.triggered', 'job.backfilled')),
    tenant_id BLOB,
    tenant    TEXT,
    job_id    BLOB,
    job       TEXT,
    handler   TEXT,
    before    TEXT,
    after     TEXT
);
CREATE INDEX audit_recent ON audit_log (at, id);
CREATE INDEX audit_by_tenant ON audit_log (tenant, at);
CREATE INDEX audit_by_job ON audit_log (job, at);

-- Append-only, as on Postgres.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
