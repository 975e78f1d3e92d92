-- Postgres records grants and revocations in the audit log (its migration 0014 allows the
-- actions `access.granted` and `access.revoked`). SQLite is single-user and has no grants, so
-- its audit log never holds them; this migration keeps the two folders in step and changes
-- nothing.
SELECT 1;
