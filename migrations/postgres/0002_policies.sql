-- Run-lifecycle policies (issue 4), Postgres dialect; kept in step with migrations/sqlite.
-- Policies are columns of their own (enums as text under CHECKs) next to the definition, so an
-- edit of a job's definition never resets them. Defaults equal rota::policy's built-in ones.

-- Tenants: a sliding-window rate limit on starts, defaults for their jobs, and which limit the
-- tenant's last claim used up (runs that then start late record it as what they waited for).
ALTER TABLE tenants
    ADD COLUMN rate_limit_count           INTEGER CHECK (rate_limit_count >= 1),
    ADD COLUMN rate_limit_window_ms       BIGINT CHECK (rate_limit_window_ms >= 1000),
    ADD COLUMN default_max_retries        INTEGER CHECK (default_max_retries >= 0),
    ADD COLUMN default_auto_disable_after INTEGER CHECK (default_auto_disable_after >= 0),
    ADD COLUMN limited_by                 TEXT CHECK (limited_by IN ('tenant_limit', 'rate_limit')),
    ADD CONSTRAINT tenants_rate_limit_pair
        CHECK ((rate_limit_count IS NULL) = (rate_limit_window_ms IS NULL));

-- Jobs: policies (NULL = the tenant's default or the built-in one) and lifecycle state.
ALTER TABLE jobs
    ADD COLUMN max_retries        INTEGER CHECK (max_retries >= 0),
    ADD COLUMN retry_backoff      TEXT NOT NULL DEFAULT 'exponential'
                                  CHECK (retry_backoff IN ('fixed', 'exponential')),
    ADD COLUMN retry_initial_ms   BIGINT NOT NULL DEFAULT 10000 CHECK (retry_initial_ms >= 0),
    ADD COLUMN retry_multiplier   DOUBLE PRECISION NOT NULL DEFAULT 2 CHECK (retry_multiplier >= 1),
    ADD COLUMN retry_max_ms       BIGINT NOT NULL DEFAULT 3600000 CHECK (retry_max_ms >= 0),
    ADD COLUMN retry_jitter       DOUBLE PRECISION NOT NULL DEFAULT 0.1
                                  CHECK (retry_jitter >= 0 AND retry_jitter <= 1),
    ADD COLUMN overlap            TEXT NOT NULL DEFAULT 'skip'
                                  CHECK (overlap IN ('skip', 'queue_one', 'allow', 'cancel_previous')),
    ADD COLUMN missed             TEXT NOT NULL DEFAULT 'run_once'
                                  CHECK (missed IN ('run_once', 'run_all', 'skip')),
    ADD COLUMN missed_max_runs    INTEGER CHECK (missed_max_runs >= 1),
    ADD COLUMN catch_up_window_ms BIGINT CHECK (catch_up_window_ms >= 0),
    ADD COLUMN auto_disable_after INTEGER CHECK (auto_disable_after >= 0),
    ADD COLUMN probation          BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN jitter_window_ms   BIGINT CHECK (jitter_window_ms >= 1),
    ADD COLUMN on_probation       BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN last_error         TEXT,
    ADD COLUMN enabled_by         TEXT,
    ADD COLUMN paused             BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN paused_at          BIGINT,
    ADD COLUMN resumed_at         BIGINT,
    ADD CONSTRAINT jobs_missed_max_runs
        CHECK ((missed = 'run_all') = (missed_max_runs IS NOT NULL));
-- A paused job is not due either (the ticker must not wake for it).
DROP INDEX jobs_due;
CREATE INDEX jobs_due ON jobs (next_run_at) WHERE enabled AND NOT paused;

-- Runs: two statuses for occurrences that did not run, why, and what a late start waited for.
ALTER TABLE runs
    DROP CONSTRAINT runs_status_check,
    ADD CONSTRAINT runs_status_check
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled',
                          'lost', 'skipped', 'missed')),
    ADD COLUMN reason           TEXT,
    ADD COLUMN waited_for       TEXT CHECK (waited_for IN ('tenant_limit', 'rate_limit', 'overlap')),
    ADD COLUMN cancel_requested BOOLEAN NOT NULL DEFAULT FALSE;
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
    id           UUID PRIMARY KEY,
    type         TEXT NOT NULL,
    tenant_id    UUID NOT NULL,
    job_id       UUID,
    occurred_at  BIGINT NOT NULL,
    data         JSONB NOT NULL,
    created_at   BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX outbox_undelivered ON outbox (created_at, id) WHERE delivered_at IS NULL;
