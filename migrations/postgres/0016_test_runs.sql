-- The job editor's test runs (issue 15): an unsaved definition run once through the engine.
-- Kept in step with migrations/sqlite (which rebuilds the table for the same change).
--
-- A test run has no job row behind it: `job_id` is NULL and `definition` carries the definition
-- it runs (a `JobDefinition` as JSON). Every statement that joins runs to jobs without asking for
-- test runs therefore leaves them out (the job's history, the timeline, the overview's counts);
-- the claim and a run read by id join with `LEFT JOIN`. Its trigger is the new `test`. A test
-- run is never retried or recovered, so every row without a job has trigger `test`.
--
-- Older binaries during a rolling upgrade: only a newer one makes test runs, and an older one
-- reads runs joined to their jobs (inner joins), so it neither claims nor lists them. Two reads
-- of an older binary do meet one: its timeline's average durations (a console showing an error
-- while a test run that succeeded is in the window) and its reaper, which cannot recover a test
-- run whose node died (its next attempt breaks the CHECKs below; a newer reaper marks it lost).
-- `tests/schema_versions.rs` allows this one relaxation by name.
ALTER TABLE runs ALTER COLUMN job_id DROP NOT NULL;
ALTER TABLE runs
    ADD COLUMN definition JSONB,
    DROP CONSTRAINT runs_trigger_check,
    ADD CONSTRAINT runs_trigger_check
        CHECK (trigger IN ('schedule', 'manual', 'retry', 'recovery', 'backfill', 'test')),
    ADD CONSTRAINT runs_test_definition CHECK ((job_id IS NULL) = (definition IS NOT NULL)),
    ADD CONSTRAINT runs_test_trigger CHECK ((trigger = 'test') = (job_id IS NULL));

-- Who may start one: a test run executes whatever definition its author typed, with the
-- tenant's run-as user and limits, so it needs what saving that definition would need, `edit`
-- in the tenant (`operate` only runs what an editor saved). Members' inserts into runs are
-- allowed by 0011's `member_insert_operate`; this restrictive policy narrows the rows without a
-- job to the tenants where the role may edit (admins are not narrowed).
DO $$
BEGIN
    EXECUTE format(
        'CREATE POLICY member_insert_test_edit ON runs AS RESTRICTIVE FOR INSERT TO %I '
        'WITH CHECK (job_id IS NOT NULL OR public.rota_access_is_admin() '
        'OR tenant_id = ANY (ARRAY(SELECT g.tenant_id FROM public.access_grants g '
        'WHERE g.role_name = (current_user::text COLLATE "default") '
        'AND g.capability = ''edit'')))',
        rota_access_member_role());
END;
$$;
