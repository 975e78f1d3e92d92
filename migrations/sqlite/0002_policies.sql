-- Run-lifecycle policies (issue 4), SQLite dialect; kept in step with migrations/postgres.
-- Policies are columns of their own (enums as text under CHECKs) next to the definition, so an
-- edit of a job's definition never resets them. Defaults equal rota::policy's built-in ones.
-- SQLite adds one column per statement, and a CHECK over two columns is written on the second
-- column (Postgres has table constraints for those).

-- Tenants: a sliding-window rate limit on starts, defaults for their jobs, and which limit the
-- tenant's last claim used up (runs that then start late record it as what they waited for).
ALTER TABLE tenants ADD COLUMN rate_limit_count INTEGER CHECK (rate_limit_count >= 1);
ALTER TABLE tenants ADD COLUMN rate_limit_window_ms BIGINT
    CHECK (rate_limit_window_ms >= 1000
           AND (rate_limit_count IS NULL) = (rate_limit_window_ms IS NULL));
ALTER TABLE tenants ADD COLUMN default_max_retries INTEGER CHECK (default_max_retries >= 0);
ALTER TABLE tenants ADD COLUMN default_auto_disable_after INTEGER
    CHECK (default_auto_disable_after >= 0);
ALTER TABLE tenants ADD COLUMN limited_by TEXT CHECK (limited_by IN ('tenant_limit', 'rate_limit'));

-- Jobs: policies (NULL = the tenant's default or the built-in one) and lifecycle state.
ALTER TABLE jobs ADD COLUMN max_retries INTEGER CHECK (max_retries >= 0);
ALTER TABLE jobs ADD COLUMN retry_backoff TEXT NOT NULL DEFAULT 'exponential'
    CHECK (retry_backoff IN ('fixed', 'exponential'));
ALTER TABLE jobs ADD COLUMN retry_initial_ms BIGINT NOT NULL DEFAULT 10000
    CHECK (retry_initial_ms >= 0);
ALTER TABLE jobs ADD COLUMN retry_multiplier REAL NOT NULL DEFAULT 2.0
    CHECK (retry_multiplier >= 1);
ALTER TABLE jobs ADD COLUMN retry_max_ms BIGINT NOT NULL DEFAULT 3600000
    CHECK (retry_max_ms >= 0);
ALTER TABLE jobs ADD COLUMN retry_jitter REAL NOT NULL DEFAULT 0.1
    CHECK (retry_jitter >= 0 AND retry_jitter <= 1);
ALTER TABLE jobs ADD COLUMN overlap TEXT NOT NULL DEFAULT 'skip'
    CHECK (overlap IN ('skip', 'queue_one', 'allow', 'cancel_previous'));
ALTER TABLE jobs ADD COLUMN missed TEXT NOT NULL DEFAULT 'run_once'
    CHECK (missed IN ('run_once', 'run_all', 'skip'));
ALTER TABLE jobs ADD COLUMN missed_max_runs INTEGER
    CHECK (missed_max_runs >= 1 AND (missed = 'run_all') = (missed_max_runs IS NOT NULL));
ALTER TABLE jobs ADD COLUMN catch_up_window_ms BIGINT CHECK (catch_up_window_ms >= 0);
ALTER TABLE jobs ADD COLUMN auto_disable_after INTEGER CHECK (auto_disable_after >= 0);
ALTER TABLE jobs ADD COLUMN probation INTEGER NOT NULL DEFAULT 0 CHECK (probation IN (0, 1));
ALTER TABLE jobs ADD COLUMN jitter_window_ms BIGINT CHECK (jitter_window_ms >= 1);
ALTER TABLE jobs ADD COLUMN on_probation INTEGER NOT NULL DEFAULT 0 CHECK (on_probation IN (0, 1));
ALTER TABLE jobs ADD COLUMN last_error TEXT;
ALTER TABLE jobs ADD COLUMN enabled_by TEXT;
ALTER TABLE jobs ADD COLUMN paused INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1));
ALTER TABLE jobs ADD COLUMN paused_at BIGINT;
ALTER TABLE jobs ADD COLUMN resumed_at BIGINT;
-- A paused job is not due either (the ticker must not wake for it).
DROP INDEX jobs_due;
CREATE INDEX jobs_due ON jobs (next_run_at) WHERE enabled AND NOT paused;

-- Runs: two statuses for occurrences that did not run, why, and what a late start waited for.
-- SQLite cannot change a CHECK constraint, and the old one rejects the new statuses, so the
-- table is rebuilt (the documented procedure: create, copy, drop, rename, index). No table
-- refers to runs, so dropping it with foreign keys on deletes nothing else.
CREATE TABLE runs_new (
    id               BLOB PRIMARY KEY NOT NULL,
    job_id           BLOB NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    tenant_id        BLOB NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    scheduled_at     BIGINT NOT NULL,
    trigger          TEXT NOT NULL
                     CHECK (trigger IN ('schedule', 'manual', 'retry', 'recovery', 'backfill')),
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
    UNIQUE (job_id, scheduled_at, attempt)
);
INSERT INTO runs_new (id, job_id, tenant_id, scheduled_at, trigger, attempt, status, payload,
                      queued_at, not_before, started_at, finished_at, duration_ms, lease_owner,
                      lease_expires_at, fencing_token, exit_code, http_status, output, error)
SELECT id, job_id, tenant_id, scheduled_at, trigger, attempt, status, payload, queued_at,
       not_before, started_at, finished_at, duration_ms, lease_owner, lease_expires_at,
       fencing_token, exit_code, http_status, output, error
FROM runs;
DROP TABLE runs;
ALTER TABLE runs_new RENAME TO runs;
-- The indexes of 0001, unchanged.
CREATE INDEX runs_queued_by_tenant ON runs (tenant_id, not_before, id) WHERE status = 'queued';
CREATE INDEX runs_queued_ready ON runs (not_before) WHERE status = 'queued';
CREATE INDEX runs_running_by_tenant ON runs (tenant_id) WHERE status = 'running';
CREATE INDEX runs_running_lease ON runs (lease_expires_at) WHERE status = 'running';
CREATE INDEX runs_recent ON runs (scheduled_at);
CREATE INDEX runs_failures_by_tenant ON runs (tenant_id, finished_at)
    WHERE status IN ('failed', 'timed_out', 'lost');
-- The tick counts a job's queued and running runs (overlap) and supersedes them; the claim
-- looks for a running run of the same job (exclusive overlap policies). Only active rows are
-- indexed, one index per status: SQLite uses a partial index only when the query repeats its
-- condition, and `status = 'running'` does not prove `status IN ('queued', 'running')` to it
-- (it would fall back to the occurrence key, whose size grows with the job's history).
CREATE INDEX runs_running_by_job ON runs (job_id) WHERE status = 'running';
CREATE INDEX runs_queued_by_job ON runs (job_id) WHERE status = 'queued';
-- Rate limits count a tenant's starts within the window. Partial on purpose: a query can use it
-- only when it compares started_at (which implies IS NOT NULL), so the running-count queries
-- keep using runs_running_by_tenant (see the note on runs_recent in 0001).
CREATE INDEX runs_starts_by_tenant ON runs (tenant_id, started_at) WHERE started_at IS NOT NULL;

-- Events for tenants, written in the same transaction as the change they report; delivering
-- them is another component's job (it sets delivered_at). No foreign keys: an event outlives
-- the job it is about.
CREATE TABLE outbox (
    id           BLOB PRIMARY KEY NOT NULL,
    type         TEXT NOT NULL,
    tenant_id    BLOB NOT NULL,
    job_id       BLOB,
    occurred_at  BIGINT NOT NULL,
    data         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX outbox_undelivered ON outbox (created_at, id) WHERE delivered_at IS NULL;
