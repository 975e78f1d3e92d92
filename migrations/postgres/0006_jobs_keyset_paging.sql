-- The console's jobs table pages by keyset (issue 6), Postgres dialect; kept in step with migrations/sqlite.
-- A page starts just after the previous page's last row, (sort column, name, id) compared as a
-- row, so a deep page costs what the first one does. These indexes give that order for the
-- default sort (name) and the next-run sort; the others (tenant, failures, last run, updated)
-- use existing indexes or one bounded sort per page, so that the engine's writes to the
-- columns it changes on every run (last_run_at, consecutive_failures) pay for no new index.
-- The queries are in src/store/portable.rs (`job_page`).
CREATE INDEX jobs_by_name ON jobs (name, id);
-- Unset next runs (disabled jobs) sort last and are read by jobs_by_name in a second part.
CREATE INDEX jobs_by_next_run ON jobs (next_run_at, name, id) WHERE next_run_at IS NOT NULL;
