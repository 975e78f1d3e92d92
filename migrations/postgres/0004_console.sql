-- The desktop console's run views (issue 7), Postgres dialect; kept in step with migrations/sqlite.
-- Three indexes, no new data: the queries they serve are in src/store/sql.rs (see
-- src/timeline.rs for what they answer).

-- The timeline finds runs by when they ran: a backfill or a retry runs long after its
-- occurrence. Partial, so that counts of a tenant's running runs (which never compare
-- started_at) keep using runs_running_by_tenant.
CREATE INDEX runs_started ON runs (started_at) WHERE started_at IS NOT NULL;
-- The change feed reads the runs that finished since its last look.
CREATE INDEX runs_finished ON runs (finished_at) WHERE finished_at IS NOT NULL;
-- ... and notices that someone edited a job (the latest updated_at).
CREATE INDEX jobs_updated ON jobs (updated_at);
