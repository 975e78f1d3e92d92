-- Notifications and the audit log (issue 5), Postgres dialect; kept in step with
-- migrations/sqlite.

-- Tenants opt in to the two noisy events; `throttled_notified_at` keeps `tenant.throttled` to
-- at most one per rate-limit window (written under the tenant's row lock, like the claim).
ALTER TABLE tenants
    ADD COLUMN notify_run_failed     BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN notify_throttled      BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN throttled_notified_at BIGINT;

-- The outbox becomes a queue the notification worker claims like runs: `attempts` counts the
-- claims (it fences a worker whose claim was taken over), a claim moves `next_attempt_at` to
-- the end of its lease (a worker that dies leaves the event due again then), a failed attempt
-- moves it to the end of the backoff. `failed_at`: the worker gave up after its last attempt.
-- Events written before this migration are delivered too (they were waiting for it).
ALTER TABLE outbox
    ADD COLUMN attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN claimed_by      TEXT,
    ADD COLUMN failed_at       BIGINT;
UPDATE outbox SET next_attempt_at = created_at;
-- The worker reads the due end of this index only.
CREATE INDEX outbox_pending ON outbox (next_attempt_at, id)
    WHERE delivered_at IS NULL AND failed_at IS NULL;

-- One row per attempt to deliver one event on one channel. `event_id` is the outbox row's id,
-- the stable id receivers deduplicate with. No foreign keys: the log outlives what it names.
CREATE TABLE deliveries (
    id              UUID PRIMARY KEY,
    event_id        UUID NOT NULL,
    tenant_id       UUID NOT NULL,
    event_type      TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('webhook', 'email')),
    -- The URL (without a password) or the address.
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

-- Who changed what, written in the same transaction as the change. Names are kept as they were
-- (no foreign keys: the log outlives tenants and jobs). Snapshots never hold secrets.
CREATE TABLE audit_log (
    id        UUID PRIMARY KEY,
    at        BIGINT NOT NULL,
    operator  TEXT NOT NULL,
    action    TEXT NOT NULL CHECK (action IN (
                  'tenant.created', 'tenant.updated', 'tenant.policy_set', 'tenant.settings_set',
                  'handler.set', 'job.created', 'job.updated', 'job.policy_set', 'job.paused',
                  'job.resumed', 'job.enabled', 'job.disabled', 'job.auto_disabled',
                  'job.deleted', 'job.triggered', 'job.backfilled')),
    tenant_id UUID,
    tenant    TEXT,
    job_id    UUID,
    job       TEXT,
    handler   TEXT,
    before    JSONB,
    after     JSONB
);
CREATE INDEX audit_recent ON audit_log (at, id);
CREATE INDEX audit_by_tenant ON audit_log (tenant, at);
CREATE INDEX audit_by_job ON audit_log (job, at);

-- Append-only: Rota has no statement that changes or deletes an entry, and the database refuses
-- one from anywhere else too.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
