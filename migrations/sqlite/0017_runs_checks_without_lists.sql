-- The runs table's CHECKs and the failures index's condition as comparisons joined by OR
-- instead of IN lists (issue 16: the cost of the engine's cycle per run). Kept in step with
-- migrations/postgres, where this is a no-op.
--
-- SQLite evaluates a CHECK, and a partial index's WHERE, against every row an INSERT or UPDATE
-- writes, and it codes a constant IN list of more than two values there as a lookup table that
-- it builds again for each row: measured with the bundled SQLite 3.46, starting 64 runs and
-- completing them (the engine's cycle, `status` and `waited_for` changed) executed 5.9 million
-- VM instructions, against 3.0 million with the same constraints written as comparisons (half
-- the statements' cost). A chain of comparisons is evaluated in place. The values allowed are
-- the same, NULL passes as before (`x IN (...)` and `x = a OR x = b` are both NULL for NULL),
-- and the columns, their order and the other constraints are unchanged.
--
-- SQLite cannot change a CHECK in place, so the table is rebuilt under its own name (as in
-- 0016; no table refers to runs). The failures index keeps its columns; the one statement that
-- reads it (`TENANT_OVERVIEW`) states its condition in the same words, which SQLite requires
-- of a partial index. An older binary during a rolling upgrade still states it as an IN list,
-- so its tenant overview counts a tenant's recent failures through another index until it is
-- upgraded (a console view, not the engine).
CREATE TABLE runs_rebuilt (
    id               BLOB PRIMARY KEY NOT NULL,
    job_id           BLOB REFERENCES jobs (id) ON DELETE CASCADE,
    tenant_id        BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    scheduled_at     BIGINT NOT NULL,
    trigger          TEXT NOT NULL
                     CHECK (trigger = 'schedule' OR trigger = 'manual' OR trigger = 'retry'
                            OR trigger = 'recovery' OR trigger = 'backfill'
                            OR trigger = 'test'),
    attempt          INTEGER NOT NULL CHECK (attempt >= 1),
    -- The most frequent values first: the comparisons stop at the first that holds.
    status           TEXT NOT NULL CHECK (status = 'running' OR status = 'succeeded'
                                          OR status = 'queued' OR status = 'failed'
                                          OR status = 'timed_out' OR status = 'cancelled'
                                          OR status = 'lost' OR status = 'skipped'
                                          OR status = 'missed'),
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
    waited_for       TEXT CHECK (waited_for = 'tenant_limit' OR waited_for = 'rate_limit'
                                 OR waited_for = 'overlap'),
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
                      reason, waited_for, cancel_requested, rate_counted, definition)
SELECT id, job_id, tenant_id, scheduled_at, trigger, attempt, status, payload, queued_at,
       not_before, started_at, finished_at, duration_ms, lease_owner, lease_expires_at,
       fencing_token, exit_code, http_status, output, error, reason, waited_for,
       cancel_requested, rate_counted, definition
FROM runs;
DROP TABLE runs;
ALTER TABLE runs_rebuilt RENAME TO runs;
-- The indexes runs had after 0016, unchanged but for the failures index's condition.
CREATE INDEX runs_queued_by_tenant ON runs (tenant_id, not_before, id) WHERE status = 'queued';
CREATE INDEX runs_recent ON runs (scheduled_at);
CREATE INDEX runs_failures_by_tenant ON runs (tenant_id, finished_at)
    WHERE status = 'failed' OR status = 'timed_out' OR status = 'lost';
CREATE INDEX runs_queued_by_job ON runs (job_id) WHERE status = 'queued';
CREATE INDEX runs_started ON runs (started_at) WHERE started_at IS NOT NULL;
CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX runs_running ON runs (tenant_id, job_id) WHERE status = 'running';
CREATE INDEX runs_rate_starts ON runs (tenant_id, started_at) WHERE rate_counted;
