-- Calendars (issue 17): named holiday and blackout calendars, per tenant or shared, and the
-- job columns that refer to them. Kept in step with migrations/sqlite (same tables, columns).
--
-- A calendar is kept as its iCalendar text (`rota calendar add --date/--range` writes one too),
-- parsed by the engine and the API (src/calendars); a bad file is refused before it is stored.
-- tenant_id NULL is a shared calendar: every member may read it, only admins change it. A
-- job's calendar name is looked up in its tenant first, then among the shared ones.
CREATE TABLE calendars (
    id         UUID PRIMARY KEY,
    tenant_id  UUID REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    source     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    -- Bumped by every update: the engine reparses a calendar only when it changed.
    version    BIGINT NOT NULL DEFAULT 1
);
-- One name per tenant, and one among the shared calendars.
CREATE UNIQUE INDEX calendars_tenant_name ON calendars (tenant_id, name) WHERE tenant_id IS NOT NULL;
CREATE UNIQUE INDEX calendars_shared_name ON calendars (name) WHERE tenant_id IS NULL;

-- The job's calendars: names (a JSON array of text) it does not run on, the one it runs only
-- on, and what an excluded occurrence does.
ALTER TABLE jobs ADD COLUMN exclude_calendars TEXT NOT NULL DEFAULT '[]';
ALTER TABLE jobs ADD COLUMN only_calendar TEXT;
ALTER TABLE jobs ADD COLUMN on_excluded TEXT NOT NULL DEFAULT 'skip'
    CHECK (on_excluded IN ('skip', 'next', 'previous'));

-- Changing a job's calendars is an edit, like its schedule (0010's trigger, with the new
-- columns).
DROP TRIGGER jobs_edit_needs_edit ON jobs;
CREATE TRIGGER jobs_edit_needs_edit
    BEFORE UPDATE OF tenant_id, name, schedule, timezone, handler, payload, timeout_ms,
        max_retries, retry_backoff, retry_initial_ms, retry_multiplier, retry_max_ms,
        retry_jitter, overlap, missed, missed_max_runs, catch_up_window_ms, auto_disable_after,
        probation, jitter_window_ms, exclude_calendars, only_calendar, on_excluded
    ON jobs FOR EACH ROW WHEN (NOT rota_access_is_admin())
    EXECUTE FUNCTION rota_access_job_edit_check();

-- Row-level security as 0010/0011 set it for every tenant-owned table: forced (the owner
-- passes as an admin), admins everything; members read their tenants' calendars and the
-- shared ones, and change their tenants' with `edit`. A shared calendar (tenant_id NULL)
-- matches no grant, so only admins insert, change or remove one.
DO $$
DECLARE
    admin_role text := rota_access_admin_role();
    member_role text := rota_access_member_role();
    granted_view text := 'tenant_id = ANY (ARRAY(SELECT g.tenant_id FROM public.access_grants g '
                         'WHERE g.role_name = (current_user::text COLLATE "default") '
                         'AND g.capability IN (''view'', ''operate'', ''edit'')))';
    granted_edit text := 'tenant_id = ANY (ARRAY(SELECT g.tenant_id FROM public.access_grants g '
                         'WHERE g.role_name = (current_user::text COLLATE "default") '
                         'AND g.capability IN (''edit'')))';
BEGIN
    EXECUTE format('GRANT ALL ON calendars TO %I', admin_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON calendars TO %I', member_role);
    ALTER TABLE calendars ENABLE ROW LEVEL SECURITY;
    ALTER TABLE calendars FORCE ROW LEVEL SECURITY;
    EXECUTE format('CREATE POLICY admin_all ON calendars TO %I USING (true) WITH CHECK (true)',
                   admin_role);
    EXECUTE format('CREATE POLICY member_select_view ON calendars FOR SELECT TO %I '
                   'USING (tenant_id IS NULL OR %s)', member_role, granted_view);
    EXECUTE format('CREATE POLICY member_insert_edit ON calendars FOR INSERT TO %I '
                   'WITH CHECK (%s)', member_role, granted_edit);
    EXECUTE format('CREATE POLICY member_update_edit ON calendars FOR UPDATE TO %I '
                   'USING (%s) WITH CHECK (%s)', member_role, granted_edit, granted_edit);
    EXECUTE format('CREATE POLICY member_delete_edit ON calendars FOR DELETE TO %I '
                   'USING (%s)', member_role, granted_edit);
END;
$$;
