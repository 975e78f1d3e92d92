-- The job editor's test runs (issue 15): an unsaved definition run once through the engine.
-- Kept in step with migrations/postgres.
--
-- A test run has no job row behind it: `job_id` is NULL and `definition` carries the definition
-- it runs (a `JobDefinition` as JSON). Every statement that joins runs to jobs without asking for
-- test runs therefore leaves them out (the job's history, the timeline, the overview's counts);
-- the claim and a run read by id join with `LEFT JOIN`. Its trigger is the new `test`.
--
-- SQLite cannot change a CHECK constraint or a column's NOT NULL, so the table is rebuilt under
-- its own name (create, copy, drop, rename, index, as in 0002 and 0015). No table refers to
-- runs, so dropping it with foreign keys on deletes nothing else. What an older binary sees of
-- test runs: see migrations/postgres/0016_test_runs.sql.
CREATE TABLE runs_rebuilt (
    id               BLOB PRIMARY KEY NOT NULL,
    job_id           BLOB REFERENCES jobs (id) ON DELETE CASCADE,
    tenant_id        BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    scheduled_at     BIGINT NOT NULL,
    trigger          TEXT NOT NULL
                     CHECK (trigger IN ('schedule', 'manual', 'retry', 'recovery', 'backfill',
                                        'test')),
    attempt          INTEGER NOT NULL CHECK (attempt >= 1),
    status           TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed',
                                                     'timed_out', 'cancelled', 'lost',
                                                     'skipped', 'missed')),
    payload          TEXT,
    queued_at        BIGINT NOT NULL,
    not_before       BIGINT NOT NULL,
    started_at       BIGINT,
    finished_at      BIGINT,
    duration_ms      BIGINT,
    lease_owner      TEXT,
    lease_expires_at BIGINT,
    fencing_token    BIGINT NOT NULL DEFAULT 0,
    exit_code        INTEGER,
    http_status      INTEGER,
    output           TEXT,
    error            TEXT,
    reason           TEXT,
    waited_for       TEXT CHECK (waited_for IN ('tenant_limit', 'rate_limit', 'overlap')),
    cancel_requested INTEGER NOT NULL DEFAULT 0 CHECK (cancel_requested IN (0, 1)),
    rate_counted     INTEGER NOT NULL DEFAULT 0 CHECK (rate_counted IN (0, 1)),
    definition       TEXT,
    -- A run belongs to a job, or is a test run carrying its definition (never retried or
    -- recovered, so always of trigger `test`): never both, never neither.
    CONSTRAINT runs_test_definition CHECK ((job_id IS NULL) = (definition IS NOT NULL)),
    CONSTRAINT runs_test_trigger CHECK ((trigger = 'test') = (job_id IS NULL)),
    UNIQUE (job_id, scheduled_at, attempt)
);
INSERT INTO runs_rebuilt (id, job_id, tenant_id, scheduled_at, trigger, attempt, status, payload,
                      queued_at, not_before, started_at, finished_at, duration_ms, lease_owner,
                      lease_expires_at, fencing_token, exit_code, http_status, output, error,
                      reason, waited_for, cancel_requested, rate_counted)
SELECT id, job_id, tenant_id, scheduled_at, trigger, attempt, status, payload, queued_at,
       not_before, started_at, finished_at, duration_ms, lease_owner, lease_expires_at,
       fencing_token, exit_code, http_status, output, error, reason, waited_for,
       cancel_requested, rate_counted
FROM runs;
DROP TABLE runs;
ALTER TABLE runs_rebuilt RENAME TO runs;
-- The indexes runs had after 0013, unchanged.
CREATE INDEX runs_queued_by_tenant ON runs (tenant_id, not_before, id) WHERE status = 'queued';
CREATE INDEX runs_recent ON runs (scheduled_at);
CREATE INDEX runs_failures_by_tenant ON runs (tenant_id, finished_at)
    WHERE status IN ('failed', 'timed_out', 'lost');
CREATE INDEX runs_queued_by_job ON runs (job_id) WHERE status = 'queued';
CREATE INDEX runs_started ON runs (started_at) WHERE started_at IS NOT NULL;
CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX runs_running ON runs (tenant_id, job_id) WHERE status = 'running';
CREATE INDEX runs_rate_starts ON runs (tenant_id, started_at) WHERE rate_counted;
