-- Calendars added, replaced and removed are recorded in the audit log (issue 17): three more
-- actions. An entry names the calendar, its tenant (none for a shared one), its version and
-- number of events, never the file. Kept in step with migrations/sqlite.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check CHECK (action IN (
    'tenant.created', 'tenant.updated', 'tenant.policy_set', 'tenant.settings_set',
    'handler.set', 'job.created', 'job.updated', 'job.policy_set', 'job.paused',
    'job.resumed', 'job.enabled', 'job.disabled', 'job.auto_disabled',
    'job.deleted', 'job.triggered', 'job.backfilled', 'access.granted', 'access.revoked',
    'calendar.created', 'calendar.updated', 'calendar.removed'));

-- A member with `edit` in a tenant changes its calendars (0012's policies), so it writes their
-- entries, in that tenant only (0010's insert policy allows `job.%` entries with `operate`). A
-- shared calendar's entry has no tenant: only admins write one, and only they read it, as a
-- named handler's. Members read their tenants' calendar entries through 0011's select policy.
DO $$
DECLARE
    member_role text := rota_access_member_role();
BEGIN
    EXECUTE format('CREATE POLICY member_insert_edit ON audit_log FOR INSERT TO %I WITH CHECK ('
                   'tenant_id = ANY (ARRAY(SELECT g.tenant_id FROM public.access_grants g '
                   'WHERE g.role_name = (current_user::text COLLATE "default") '
                   'AND g.capability IN (''edit''))) AND action LIKE ''calendar.%%'')',
                   member_role);
END;
$$;
