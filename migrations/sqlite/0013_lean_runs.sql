-- Fewer index writes per run (issue 16): every index of `runs` whose condition a run meets is
-- written when the run is queued, started and finished, and on the engine's hot path that was
-- most of the work (13 indexes; Postgres writes a new entry into each matching index on every
-- update that changes an indexed column). Kept in step with migrations/postgres.
--
-- 1. One index on running runs instead of three. The running set is small (at most the worker
--    slots of all nodes), so what used to have an index of its own reads this one: a tenant's
--    running count and a job's running run (both columns are known there), and the lease
--    expiries, node leases and cancellation requests (a scan of the running set). Lease
--    renewals no longer change an indexed column.
DROP INDEX runs_running_by_tenant;
DROP INDEX runs_running_lease;
DROP INDEX runs_running_by_job;
CREATE INDEX runs_running ON runs (tenant_id, job_id) WHERE status = 'running';
-- 2. Queued runs by readiness alone: the earliest ready instant is read per tenant from
--    runs_queued_by_tenant (one probe per tenant), and the timeline's waiting runs from the
--    same index.
DROP INDEX runs_queued_ready;
-- 3. Rate limits count the starts of a rate-limited tenant's runs only: a run started while
--    its tenant had a rate limit is marked (rate_counted) and indexed; other runs are not.
--    Setting a limit marks the tenant's starts within its window (so they count at once).
ALTER TABLE runs ADD COLUMN rate_counted INTEGER NOT NULL DEFAULT 0 CHECK (rate_counted IN (0, 1));
UPDATE runs SET rate_counted = TRUE
WHERE started_at IS NOT NULL
  AND tenant_id IN (SELECT id FROM tenants WHERE rate_limit_count IS NOT NULL)
  AND started_at >= (SELECT MAX(started_at) FROM runs)
                    - (SELECT MAX(rate_limit_window_ms) FROM tenants);
DROP INDEX runs_starts_by_tenant;
CREATE INDEX runs_rate_starts ON runs (tenant_id, started_at) WHERE rate_counted;
