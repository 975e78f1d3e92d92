-- Who may do what, decided by Postgres itself (issue 14); migrations/sqlite has the same number
-- (SQLite is single-user: there it only adds audit_log.display_name).
--
-- People log in as their own roles. Two group roles per database hold the privileges:
--   <database>_admin   may do everything (tenants, named handlers, grants, secrets). The role
--                      that runs this migration (the owner, which the engine and `rota migrate`
--                      use) is made a member.
--   <database>_member  every login role `rota access grant` manages; what it sees and changes is
--                      decided row by row from access_grants (one capability per tenant:
--                      view < operate < edit).
-- Roles are cluster-wide and grants are per database, so the groups are named after the
-- database (for a database named rota: rota_admin and rota_member). Two Rota databases in one
-- cluster (staging and production, or tests running at once) get separate groups: an admin of
-- one is not an admin of the other, and migrating two databases at once never races for one
-- role name (one database's migrations run one at a time under sqlx's lock). A database name
-- longer than 56 bytes gives rota_<16 hex digits of its md5>_admin / _member instead (role
-- names have at most 63). A role of that name that exists already is reused: a superuser may
-- create both beforehand for an owner without CREATEROLE (then grant the admin group to the
-- owner); its members are then this database's admins.
--
-- The traps avoided here (tests/access.rs tests each one):
-- - The owner bypassing policies: every tenant-owned table has row-level security ENABLED and
--   FORCED, so the owner is subject to the policies too; it passes them as a member of the
--   admin group, whose policies are `USING (true)` (folded away by the planner: the engine's
--   plans are unchanged). Superusers bypass row-level security whatever is forced.
-- - Views and functions running with their owner's rights: there are no views, and every
--   function here is SECURITY INVOKER with a fixed search_path (a test refuses SECURITY DEFINER
--   functions and views without security_invoker).
-- - A pooled connection carrying a tenant setting to the next user: policies read only
--   current_user and access_grants, never a session variable (a test checks the policies' text).
-- - Sequences and RETURNING leaking other rows: there are no sequences (ids are UUIDs), and
--   RETURNING shows only rows the SELECT policy lets the role see.
-- - Secrets: members get column privileges on tenants without webhook_secret and webhook_url
--   (a URL may carry a password or a token), and do not read the audit entries of settings
--   changes (their snapshots hold the URL); the engine reads them as the owner. Job and named
--   handler definitions (headers, payloads) are readable by every member who may view (an
--   editor needs them): a credential only admins may read belongs in the tenant's settings.
-- A later migration that adds a tenant-owned table must enable and force row-level security
-- on it with the same policies (tests/access.rs fails for a table with a tenant_id column
-- that has none).

CREATE TABLE access_grants (
    role_name  TEXT NOT NULL,
    tenant_id  UUID NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    capability TEXT NOT NULL CHECK (capability IN ('view', 'operate', 'edit')),
    granted_at BIGINT NOT NULL,
    -- The login role that granted it (session_user, whatever the client says).
    granted_by TEXT NOT NULL DEFAULT session_user,
    -- Policies look a role's grants up by role_name (this key's first column).
    PRIMARY KEY (role_name, tenant_id)
);

-- The audit log names the login role (session_user), whatever the client says; what the client
-- said (`--operator`, the console's setting, `engine`) is kept beside it when it differs.
ALTER TABLE audit_log ADD COLUMN display_name TEXT;
CREATE FUNCTION audit_log_operator_is_session_user() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    NEW.display_name := CASE WHEN NEW.operator IS DISTINCT FROM session_user::text
                             THEN NEW.operator END;
    NEW.operator := session_user::text;
    RETURN NEW;
END;
$$;
CREATE TRIGGER audit_log_operator BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_operator_is_session_user();

-- Every function runs with a fixed search_path (a table of the same name elsewhere on the
-- path cannot stand in for Rota's); 0005's trigger function predates the rule.
ALTER FUNCTION audit_log_append_only() SET search_path = pg_catalog;

-- The group roles, and functions that name them (for the store, triggers and `rota access`).
DO $$
DECLARE
    database text := current_database();
    admin_role text;
    member_role text;
BEGIN
    IF octet_length(database) <= 56 THEN
        admin_role := database || '_admin';
        member_role := database || '_member';
    ELSE
        admin_role := 'rota_' || left(md5(database), 16) || '_admin';
        member_role := 'rota_' || left(md5(database), 16) || '_member';
    END IF;
    BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = admin_role) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', admin_role);
        END IF;
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = member_role) THEN
            EXECUTE format('CREATE ROLE %I NOLOGIN', member_role);
        END IF;
        -- The owner is subject to the forced policies: it passes them as an admin.
        IF NOT pg_has_role(current_user, admin_role, 'MEMBER') THEN
            EXECUTE format('GRANT %I TO %I', admin_role, current_user);
        END IF;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE EXCEPTION 'rota migrate: role % may not create the roles % and % (it needs CREATEROLE)', current_user, admin_role, member_role
            USING ERRCODE = 'insufficient_privilege',
                  HINT = format('a superuser can run: CREATE ROLE %I NOLOGIN; CREATE ROLE %I NOLOGIN; GRANT %I TO %I;',
                                admin_role, member_role, admin_role, current_user);
    END;
    EXECUTE format('CREATE FUNCTION rota_access_admin_role() RETURNS text LANGUAGE sql IMMUTABLE AS %L',
                   format('SELECT %L::text', admin_role));
    EXECUTE format('CREATE FUNCTION rota_access_member_role() RETURNS text LANGUAGE sql IMMUTABLE AS %L',
                   format('SELECT %L::text', member_role));
END;
$$;

-- Whether the current role acts as an admin (a superuser always does).
CREATE FUNCTION rota_access_is_admin() RETURNS boolean
    LANGUAGE sql STABLE SET search_path = pg_catalog AS $$
    SELECT pg_has_role(current_user, public.rota_access_admin_role(), 'MEMBER')
$$;

-- `rota access grant`: the login role `person` (created when missing), its password's SCRAM
-- verifier when given (computed by the client: the password itself never reaches the server),
-- and membership of the member group. SECURITY INVOKER: the caller needs CREATEROLE (or a
-- superuser). Returns whether the role was created.
CREATE FUNCTION rota_access_login(person text, verifier text) RETURNS boolean
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
DECLARE
    created boolean := false;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = person) THEN
        EXECUTE format('CREATE ROLE %I LOGIN', person);
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

-- `rota access grant ROLE --can admin`: membership of the admin group.
CREATE FUNCTION rota_access_make_admin(person text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    EXECUTE format('GRANT %I TO %I', public.rota_access_admin_role(), person);
END;
$$;

-- `rota access revoke ROLE`: out of both groups (the login role itself stays: it may own
-- things or be used elsewhere in the cluster).
CREATE FUNCTION rota_access_leave(person text) RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    EXECUTE format('REVOKE %I FROM %I', public.rota_access_member_role(), person);
    EXECUTE format('REVOKE %I FROM %I', public.rota_access_admin_role(), person);
END;
$$;

-- Changing what a job does (its definition, policies, or tenant) needs `edit` on its tenant;
-- pausing, enabling and the engine's bookkeeping need only `operate` (the UPDATE policy).
-- Row-level security cannot tell which columns an UPDATE changes, so this trigger does, and
-- only for UPDATEs that set these columns: the engine's statements never do, so it never runs
-- for them.
CREATE FUNCTION rota_access_job_edit_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.access_grants g
                   WHERE g.role_name = current_user::text AND g.tenant_id = OLD.tenant_id
                     AND g.capability = 'edit')
       OR NOT EXISTS (SELECT 1 FROM public.access_grants g
                      WHERE g.role_name = current_user::text AND g.tenant_id = NEW.tenant_id
                        AND g.capability = 'edit') THEN
        RAISE EXCEPTION 'not allowed: edit on tenant %',
            (SELECT t.name FROM public.tenants t WHERE t.id = OLD.tenant_id)
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER jobs_edit_needs_edit
    BEFORE UPDATE OF tenant_id, name, schedule, timezone, handler, payload, timeout_ms,
        max_retries, retry_backoff, retry_initial_ms, retry_multiplier, retry_max_ms,
        retry_jitter, overlap, missed, missed_max_runs, catch_up_window_ms, auto_disable_after,
        probation, jitter_window_ms
    ON jobs FOR EACH ROW WHEN (NOT rota_access_is_admin())
    EXECUTE FUNCTION rota_access_job_edit_check();

-- Privileges and policies.
DO $$
DECLARE
    admin_role text := rota_access_admin_role();
    member_role text := rota_access_member_role();
    tenant_owned text[] := ARRAY['tenants', 'jobs', 'runs', 'outbox', 'deliveries', 'audit_log',
                                 'access_grants'];
    owned text;
    rule record;
    levels text;
    granted text;
    visible_tenant_columns text;
BEGIN
    -- Admins: everything, on every table (and on the tables later migrations create).
    EXECUTE format('GRANT ALL ON ALL TABLES IN SCHEMA public TO %I', admin_role);
    EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON TABLES TO %I', admin_role);
    EXECUTE format('GRANT USAGE ON SCHEMA public TO %I, %I', admin_role, member_role);
    EXECUTE format('GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO %I', admin_role);

    -- Members: the privileges their capabilities may need on some tenant; the policies and the
    -- edit trigger narrow them to the right tenants.
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO visible_tenant_columns
    FROM pg_attribute
    WHERE attrelid = 'public.tenants'::regclass AND attnum > 0 AND NOT attisdropped
      AND attname NOT IN ('webhook_secret', 'webhook_url');
    EXECUTE format('GRANT SELECT (%s) ON tenants TO %I', visible_tenant_columns, member_role);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON jobs TO %I', member_role);
    -- Runs: run now and backfills insert; cancelling asks the engine to stop one.
    EXECUTE format('GRANT SELECT, INSERT ON runs TO %I', member_role);
    EXECUTE format('GRANT UPDATE (cancel_requested) ON runs TO %I', member_role);
    -- Re-enabling a job writes a job.re_enabled event; every change writes an audit entry.
    EXECUTE format('GRANT SELECT, INSERT ON outbox, audit_log TO %I', member_role);
    EXECUTE format('GRANT SELECT ON deliveries, access_grants, named_handlers, nodes, _sqlx_migrations TO %I',
                   member_role);
    EXECUTE format('GRANT EXECUTE ON FUNCTION rota_access_admin_role(), rota_access_member_role(), rota_access_is_admin() TO %I',
                   member_role);
    REVOKE EXECUTE ON FUNCTION rota_access_login(text, text), rota_access_make_admin(text),
        rota_access_leave(text) FROM PUBLIC;

    FOREACH owned IN ARRAY tenant_owned LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', owned);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', owned);
        EXECUTE format('CREATE POLICY admin_all ON %I TO %I USING (true) WITH CHECK (true)',
                       owned, admin_role);
    END LOOP;

    -- A member's policies: (table, command, the column naming the tenant, the least capability,
    -- what else a row must satisfy).
    -- The grants are read into an array by an uncorrelated subquery: Postgres computes it once
    -- per statement, and `tenant_id = ANY (...)` can then be an index condition, so a limited
    -- role reads only its tenants' index ranges.
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
        -- A tenant's settings hold its webhook URL (which may carry a token): their entries
        -- are an admin's, like the settings.
        ('audit_log', 'SELECT', 'tenant_id', 'view', $x$ AND action <> 'tenant.settings_set'$x$),
        ('audit_log', 'INSERT', 'tenant_id', 'operate', $x$ AND action LIKE 'job.%'$x$)
    ) AS rules (tbl, command, tenant_column, least, extra)
    LOOP
        levels := CASE rule.least
            WHEN 'view' THEN $l$'view', 'operate', 'edit'$l$
            WHEN 'operate' THEN $l$'operate', 'edit'$l$
            ELSE $l$'edit'$l$ END;
        granted := format('%I = ANY (ARRAY(SELECT g.tenant_id FROM public.access_grants g '
                          'WHERE g.role_name = current_user::text AND g.capability IN (%s)))%s',
                          rule.tenant_column, levels, rule.extra);
        EXECUTE format('CREATE POLICY %I ON %I FOR %s TO %I %s',
                       'member_' || lower(rule.command) || '_' || rule.least, rule.tbl,
                       rule.command, member_role,
                       CASE rule.command
                           WHEN 'INSERT' THEN format('WITH CHECK (%s)', granted)
                           WHEN 'UPDATE' THEN format('USING (%s) WITH CHECK (%s)', granted, granted)
                           ELSE format('USING (%s)', granted) END);
    END LOOP;
    -- A member reads its own grants (`rota access whoami`, and the policies' subqueries).
    EXECUTE format('CREATE POLICY member_select_own ON access_grants FOR SELECT TO %I '
                   'USING (role_name = current_user::text)', member_role);
END;
$$;
