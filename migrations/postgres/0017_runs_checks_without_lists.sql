-- Kept in step with migrations/sqlite/0017_runs_checks_without_lists.sql, which rewrites the
-- runs table's CHECKs and the condition of `runs_failures_by_tenant` as comparisons joined by OR
-- instead of IN lists, because SQLite builds a lookup table for such a list again for every row
-- it writes. Postgres evaluates `x IN (...)` in place and proves that the tenant overview's
-- comparisons imply the index's IN list, so nothing changes here.
SELECT 1;
