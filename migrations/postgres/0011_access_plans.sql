-- Access (issue 14), continued: a limited role's statements read only its tenants' index ranges.
-- Kept in step with migrations/sqlite (a no-op there: SQLite has no roles).
--
-- 1. The policies look a role's grants up by `role_name = current_user::text`. That text is in
--    collation "C" (the name type's), which the default-collation index on access_grants
--    (role_name, tenant_id) cannot serve: every statement of a limited role scanned the grants.
--    The comparison is now in the default collation, in every policy and in the edit trigger.
-- 2. The policies compute a role's tenants once per statement (an InitPlan), after planning, so
--    the planner guesses how many rows they cover (about ten tenants' worth) and scanned whole
--    tables to keep a few tenants' rows. For a limited role reading its tenants' index ranges is
--    the right plan: its sessions in this database plan with indexes (as the engine's tick and
--    claim do). A planner setting, not a tenant setting: what the role may see is still decided
--    by the policies alone. A scan planned anyway (a table too small for its index) then counts
--    as very costly, which would start JIT compilation for a listing of milliseconds: JIT is off
--    for these roles too. The README has the measurement.

CREATE OR REPLACE FUNCTION rota_access_job_edit_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.access_grants g
                   WHERE g.role_name = (current_user::text COLLATE "default")
                     AND g.tenant_id = OLD.tenant_id AND g.capability = 'edit')
       OR NOT EXISTS (SELECT 1 FROM public.access_grants g
                      WHERE g.role_name = (current_user::text COLLATE "default")
                        AND g.tenant_id = NEW.tenant_id AND g.capability = 'edit') THEN
        RAISE EXCEPTION 'not allowed: edit on tenant %',
            (SELECT t.name FROM public.tenants t WHERE t.id = OLD.tenant_id)
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;

-- As in 0010, plus the planner settings of a role it creates.
CREATE OR REPLACE FUNCTION rota_access_login(person text, verifier text) RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    created boolean := false;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = person) THEN
        EXECUTE format('CREATE ROLE %I LOGIN', person);
        EXECUTE format('ALTER ROLE %I IN DATABASE %I SET enable_seqscan = off', person,
                       current_database());
        EXECUTE format('ALTER ROLE %I IN DATABASE %I SET jit = off', person, current_database());
        created := true;
    END IF;
    IF verifier IS NOT NULL THEN
        EXECUTE format('ALTER ROLE %I PASSWORD %L', person, verifier);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_auth_members m
                   WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = person)
                     AND m.roleid = (SELECT oid FROM pg_roles
                                     WHERE rolname = public.rota_access_member_role())) THEN
        EXECUTE format('GRANT %I TO %I', public.rota_access_member_role(), person);
    END IF;
    RETURN created;
END;
$$;
REVOKE EXECUTE ON FUNCTION rota_access_login(text, text) FROM PUBLIC;

DO $$
DECLARE
    member_role text := rota_access_member_role();
    rule record;
    levels text;
    granted text;
    person record;
BEGIN
    -- The same policies as 0010's, with the comparison in the default collation.
    FOR rule IN SELECT * FROM (VALUES
        ('tenants', 'SELECT', 'id', 'view', ''),
        ('jobs', 'SELECT', 'tenant_id', 'view', ''),
        ('jobs', 'UPDATE', 'tenant_id', 'operate', ''),
        ('jobs', 'INSERT', 'tenant_id', 'edit', ''),
        ('jobs', 'DELETE', 'tenant_id', 'edit', ''),
        ('runs', 'SELECT', 'tenant_id', 'view', ''),
        ('runs', 'INSERT', 'tenant_id', 'operate', ''),
        ('runs', 'UPDATE', 'tenant_id', 'operate', ''),
        ('outbox', 'SELECT', 'tenant_id', 'view', ''),
        ('outbox', 'INSERT', 'tenant_id', 'operate', ''),
        ('deliveries', 'SELECT', 'tenant_id', 'view', ''),
        ('audit_log', 'SELECT', 'tenant_id', 'view', $x$ AND action <> 'tenant.settings_set'$x$),
        ('audit_log', 'INSERT', 'tenant_id', 'operate', $x$ AND action LIKE 'job.%'$x$)
    ) AS rules (tbl, command, tenant_column, least, extra)
    LOOP
        levels := CASE rule.least
            WHEN 'view' THEN $l$'view', 'operate', 'edit'$l$
            WHEN 'operate' THEN $l$'operate', 'edit'$l$
            ELSE $l$'edit'$l$ END;
        granted := format('%I = ANY (ARRAY(SELECT g.tenant_id FROM public.access_grants g '
                          'WHERE g.role_name = (current_user::text COLLATE "default") '
                          'AND g.capability IN (%s)))%s',
                          rule.tenant_column, levels, rule.extra);
        EXECUTE format('DROP POLICY %I ON %I',
                       'member_' || lower(rule.command) || '_' || rule.least, rule.tbl);
        EXECUTE format('CREATE POLICY %I ON %I FOR %s TO %I %s',
                       'member_' || lower(rule.command) || '_' || rule.least, rule.tbl,
                       rule.command, member_role,
                       CASE rule.command
                           WHEN 'INSERT' THEN format('WITH CHECK (%s)', granted)
                           WHEN 'UPDATE' THEN format('USING (%s) WITH CHECK (%s)', granted, granted)
                           ELSE format('USING (%s)', granted) END);
    END LOOP;
    DROP POLICY member_select_own ON access_grants;
    EXECUTE format('CREATE POLICY member_select_own ON access_grants FOR SELECT TO %I '
                   'USING (role_name = (current_user::text COLLATE "default"))', member_role);

    -- Login roles 0010 created get the planner settings too (admins and superusers do not).
    FOR person IN
        SELECT r.rolname FROM pg_roles r JOIN pg_auth_members m ON m.member = r.oid
        WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = member_role)
          AND r.rolcanlogin AND NOT r.rolsuper
          AND NOT pg_has_role(r.oid, rota_access_admin_role(), 'MEMBER')
    LOOP
        EXECUTE format('ALTER ROLE %I IN DATABASE %I SET enable_seqscan = off', person.rolname,
                       current_database());
        EXECUTE format('ALTER ROLE %I IN DATABASE %I SET jit = off', person.rolname,
                       current_database());
    END LOOP;
END;
$$;
