-- Access (issue 14), continued, SQLite dialect: nothing to do. The Postgres migration of the same
-- number tunes the row-level security policies and the planner settings of limited roles;
-- SQLite is single-user and has neither.
SELECT 1;
