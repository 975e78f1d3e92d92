-- Access control (issue 14), SQLite dialect. SQLite is single-user: whoever can open the file
-- can change everything in it, so there are no roles, grants or row-level policies here (the
-- Postgres migration of the same number has them; a team shares a Postgres database). The file
-- is private to its owner (created with mode 0600 in a 0700 directory).
--
-- The audit log gains the column Postgres uses for the name a client gave when it differs
-- from the database role (here the operator is the name given, and display_name stays NULL),
-- so both backends keep the same columns. access_grants is Postgres only (tests/store_suite.rs
-- lists it as such).
ALTER TABLE audit_log ADD COLUMN display_name TEXT;
