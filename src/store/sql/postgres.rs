//! Statements for Postgres only: row locks, `SKIP LOCKED` and the claim in two statements.
//! The column-list macros of `super` are in scope here (textual macro scope).

/// Postgres: a change reads the row it changes first (the audit log's `before`); the lock
/// keeps another transaction from changing it in between. `NO KEY UPDATE` is what the
/// `UPDATE` takes anyway and lets runs that reference the job be inserted meanwhile.
pub const LOCK_JOB: &str = concat!(job_by_id!(), " FOR NO KEY UPDATE OF j");
/// Postgres: the jobs `$1` locked in id order, before a completion batch writes them (see
/// `complete`): a fixed order means two batches never wait for each other in a cycle.
pub const LOCK_JOBS_IN_ORDER: &str =
    "SELECT id FROM jobs WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE";
/// [`super::JOBS_SUCCEEDED_HEAD`] for Postgres, with the locks: jobs `$1` (sorted) whose every
/// result in the batch succeeded, each with its latest finish `$2`. The `locked` CTE takes the
/// row locks in id order, and the `UPDATE` only writes rows the CTE returned, so every lock is
/// taken in that order whatever plan the `UPDATE` gets (two batches never wait for each other
/// in a cycle). One prepared statement whatever the number of jobs.
pub const LOCK_AND_FINISH_JOBS: &str = "WITH locked AS MATERIALIZED ( \
         SELECT id FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE \
     ) \
     UPDATE jobs SET last_run_at = CASE \
         WHEN jobs.last_run_at IS NULL OR jobs.last_run_at < v.finished THEN v.finished \
         ELSE jobs.last_run_at END, consecutive_failures = 0, on_probation = FALSE \
     FROM UNNEST($1::uuid[], $2::bigint[]) AS v(id, finished) \
     WHERE jobs.id = v.id AND jobs.id IN (SELECT id FROM locked)";

/// [`super::COMPLETE_RUNS_HEAD`] for Postgres: the results as arrays (`$1` run ids, `$2`
/// nodes, `$3` fencing tokens, `$4` statuses, `$5` finishes, `$6` durations, `$7` exit codes,
/// `$8` HTTP statuses, `$9` outputs, `$10` errors), so the text is one prepared statement
/// whatever the batch's size (a `VALUES` list is a new statement to parse and plan per size).
pub const COMPLETE_RUNS: &str = "UPDATE runs SET status = v.status, finished_at = v.finished_at, \
     duration_ms = v.duration_ms, exit_code = v.exit_code, http_status = v.http_status, \
     output = v.output, error = v.error, lease_expires_at = NULL \
     FROM UNNEST($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], \
                 $7::int[], $8::int[], $9::text[], $10::text[]) \
          AS v(id, node, token, status, finished_at, duration_ms, exit_code, http_status, \
               output, error) \
     WHERE runs.id = v.id AND runs.status = 'running' AND runs.lease_owner = v.node \
       AND runs.fencing_token = v.token RETURNING runs.id, runs.job_id";

/// [`COMPLETE_RUNS`] and [`LOCK_AND_FINISH_JOBS`] in one statement, for a batch whose every
/// result succeeded for good (no retry), the engine's usual batch: one round trip instead of
/// two. Same binds as `COMPLETE_RUNS`, same rows returned. The runs are written first (as
/// `COMPLETE_RUNS` alone would), then the jobs of the accepted runs are locked in id order
/// (`locked`, materialized) and recorded with their latest finish; the jobs' `UPDATE` only
/// writes rows `locked` returned, so the locks are taken in that order whatever its plan, as in
/// `LOCK_AND_FINISH_JOBS`. A job changed by another transaction after this statement's snapshot
/// is written at its newest version (the lock waits for it, and the `UPDATE` re-reads it), so
/// `last_run_at` still only moves forward.
pub const COMPLETE_SUCCEEDED_RUNS: &str = "WITH done AS ( \
         UPDATE runs SET status = v.status, finished_at = v.finished_at, \
                duration_ms = v.duration_ms, exit_code = v.exit_code, \
                http_status = v.http_status, output = v.output, error = v.error, \
                lease_expires_at = NULL \
         FROM UNNEST($1::uuid[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], \
                     $6::bigint[], $7::int[], $8::int[], $9::text[], $10::text[]) \
              AS v(id, node, token, status, finished_at, duration_ms, exit_code, http_status, \
                   output, error) \
         WHERE runs.id = v.id AND runs.status = 'running' AND runs.lease_owner = v.node \
           AND runs.fencing_token = v.token RETURNING runs.id, runs.job_id, runs.finished_at \
     ), finished AS ( \
         SELECT job_id AS id, max(finished_at) AS finished FROM done GROUP BY job_id \
     ), locked AS MATERIALIZED ( \
         SELECT id FROM jobs WHERE id IN (SELECT id FROM finished) ORDER BY id \
         FOR NO KEY UPDATE \
     ), recorded AS ( \
         UPDATE jobs SET last_run_at = CASE \
             WHEN jobs.last_run_at IS NULL OR jobs.last_run_at < f.finished THEN f.finished \
             ELSE jobs.last_run_at END, consecutive_failures = 0, on_probation = FALSE \
         FROM finished f WHERE jobs.id = f.id AND jobs.id IN (SELECT id FROM locked) \
     ) SELECT id, job_id FROM done";

pub const LOCK_TENANT: &str = concat!(tenant_by_name!(), " FOR NO KEY UPDATE");
pub const LOCK_TENANT_SETTINGS: &str = concat!(tenant_settings_by_name!(), " FOR NO KEY UPDATE");
pub const LOCK_NAMED_HANDLER: &str =
    "SELECT spec FROM named_handlers WHERE name = $1 FOR NO KEY UPDATE";
pub const LOCK_CALENDAR: &str =
    concat!(calendar_select!(), " WHERE c.id = $1 FOR NO KEY UPDATE OF c");

/// Postgres: a bulk action's jobs as rows `v (id, version, next_run_at, probation)` from the
/// JSON array `$1`, so that one statement covers any number of jobs (an array of records is
/// one parameter; a `VALUES` list would need four per job, and both backends cap parameters).
pub const BULK_JOB_ROWS: &str = "jsonb_to_recordset($1::jsonb) \
     AS v (id uuid, version bigint, next_run_at bigint, probation boolean)";

/// Postgres: several notification workers claim at once; each takes events nobody holds.
pub const PENDING_EVENTS: &str = concat!(pending_events!(), " FOR UPDATE SKIP LOCKED");

/// Postgres: several scheduler nodes tick at once. `SKIP LOCKED` lets each take a disjoint
/// batch instead of queueing behind another node's transaction; `NO KEY UPDATE` is the lock
/// the later `UPDATE` of `next_run_at` needs anyway, and does not block inserts of runs that
/// reference the job (their foreign-key check takes `KEY SHARE`).
pub const DUE_JOBS: &str = concat!(due_jobs!(), " FOR NO KEY UPDATE SKIP LOCKED");

/// Postgres: the node's result writer may hold some of these rows locked while it records
/// their results. Renewal skips them (they are finishing) instead of waiting, so renewal
/// and completion can never lock the same rows in opposite orders and deadlock.
pub const RENEW_LEASES_TAIL: &str = " FOR NO KEY UPDATE SKIP LOCKED)";

/// Postgres: two nodes may reap at once, and a late result may be recording right now;
/// each reaper takes the expired runs nobody holds, without waiting.
pub const EXPIRED_LEASES: &str = concat!(expired_leases!(), " FOR NO KEY UPDATE SKIP LOCKED");

/// Claim, step 1 of 2: lock the tenants to serve, skipping tenants another node is claiming
/// for right now. Every transition of a run INTO `running` happens in step 2 under its
/// tenant's row lock, so counting a locked tenant's running runs gives the true count.
///
/// Why two statements and not one: in READ COMMITTED a statement reads other rows as of its
/// start. When another claim for the same tenant commits while this statement runs, the
/// lock is granted on the new tenant row version, but a count in the same statement still
/// misses the runs that claim just started, and `max_concurrent` would be exceeded. Step 2 is
/// a new statement with a new snapshot, taken after the locks are held: it sees them.
/// (The eligibility tests here may be stale for the same reason; they only pick candidates,
/// and step 2 recounts.) The lock is taken in whichever branch chooses the tenants (see
/// `eligible_tenants!`), on the tenants returned only.
pub const LOCK_ELIGIBLE_TENANTS: &str = eligible_tenants!(" FOR NO KEY UPDATE OF t SKIP LOCKED");
/// [`LOCK_ELIGIBLE_TENANTS`] by the walk in claim order alone, which it must agree with
/// (tests), and the claim's choice unless that one is likely to take its `among` branch (see
/// `ChoiceHint` in `postgres/mod.rs`).
pub const LOCK_ELIGIBLE_TENANTS_BY_WALK: &str =
    eligible_tenants_by_walk!(" FOR NO KEY UPDATE OF t SKIP LOCKED");

/// Claim, step 2 of 2: for each locked tenant (`$1`), read up to its room of its oldest
/// ready runs with one bounded index range scan each (`LATERAL ... LIMIT`), so the cost grows
/// with the tenants served, never with the queue. The room is the least of the claim's limit
/// `$3`, the room under `max_concurrent`, the room under the rate limit, and the tenant's
/// share of the claim (its weight times the rounds `$3` takes if every tenant had enough; as
/// `claim_shares` on SQLite), so that a claim of 64 over 64 tenants reads 64 runs, not 4,096. A job whose
/// overlap policy is exclusive gets at most one run per claim (`nth_of_job`). Runs are then
/// interleaved in weighted rounds (each tenant takes `weight` runs per round: everyone's
/// first round before anyone's second), cut at `$3`, started under lease for node `$4` until
/// `$5` (a run starting more than `$6` ms late records what it waited for), and the served
/// tenants move to the back of the line, remembering which limit this claim used up
/// (`limited_by`, as [`crate::policy::limit_reached`]). A lone busy tenant therefore fills
/// the whole claim, while a tenant with one ready run is served in the first round. The runs
/// need no row locks of their own: every transition into `running` happens under the tenant
/// row lock taken in step 1, which this transaction holds; so do the rate limit's counts.
/// The runs are updated through `id = ANY(ARRAY(...))`, a primary-key lookup per picked run.
/// Without fresh statistics (right after a bulk enqueue) Postgres took every queued run's
/// partial index for tiny: as a join it hashed all queued runs, and with a plain `status =
/// 'queued'` it walked all of `runs_queued_by_tenant` looking for the ids (9 and 20 ms per
/// claim at 20,000 queued runs, growing with the queue). `COALESCE(status, '')` (status is
/// never NULL) keeps the check but does not match any partial index, so the key is used.
/// Binds: `$1` tenant ids, `$2` now, `$3` limit, `$4` node, `$5` lease expiry, `$6` the
/// lateness threshold, `$7` the horizon (runs ready by then are taken; one claimed before its
/// `not_before` records that instant as its start, when the engine starts it).
pub const CLAIM_RUNS: &str = concat!(
    "WITH locked AS ( \
         SELECT t.id, t.weight, t.last_claimed_at, t.max_concurrent - ",
    running_of!("t"),
    " AS concurrency_room, ",
    rate_room_of!("t", "$2"),
    " AS rate_room, \
                sum(t.weight) OVER () AS total_weight \
         FROM tenants t WHERE t.id = ANY($1) \
     ), \
     candidates AS ( \
         SELECT q.id, q.job_id, q.exclusive, q.not_before, l.id AS tenant_id, l.weight, \
                l.last_claimed_at, \
                row_number() OVER (PARTITION BY q.job_id ORDER BY q.not_before, q.id) \
                    AS nth_of_job \
         FROM locked l \
         CROSS JOIN LATERAL (",
    ready_runs!(
        "l.id",
        "$7",
        "GREATEST(LEAST($3, l.concurrency_room, l.rate_room, \
                        l.weight * (($3 + l.total_weight - 1) / l.total_weight)), 0)"
    ),
    ") q \
     ), \
     picked AS ( \
         SELECT c.id, c.tenant_id, \
                (row_number() OVER (PARTITION BY c.tenant_id ORDER BY c.not_before, c.id) - 1) \
                    / c.weight AS turn, \
                c.not_before, \
                c.last_claimed_at \
         FROM candidates c WHERE NOT c.exclusive OR c.nth_of_job = 1 \
         ORDER BY turn, c.last_claimed_at, c.tenant_id, c.not_before, c.id \
         LIMIT $3 \
     ), \
     claimed AS ( \
         UPDATE runs r SET status = 'running', started_at = GREATEST($2, r.not_before), \
                lease_owner = $4, \
                lease_expires_at = $5, fencing_token = r.fencing_token + 1, \
                rate_counted = ",
    rate_counted_on_start!("r"),
    ", waited_for = ",
    waited_for_on_start!("r", "$2", "$6"),
    " WHERE r.id = ANY(ARRAY(SELECT id FROM picked)) AND COALESCE(r.status, '') = 'queued' \
         RETURNING r.* \
     ), \
     taken AS ( \
         SELECT tenant_id, count(*) AS took FROM claimed GROUP BY tenant_id \
     ), \
     served AS ( \
         UPDATE tenants SET last_claimed_at = $2, \
                limited_by = CASE WHEN k.took >= l.concurrency_room THEN 'tenant_limit' \
                                  WHEN k.took >= l.rate_room THEN 'rate_limit' END \
         FROM taken k JOIN locked l ON l.id = k.tenant_id \
         WHERE tenants.id = k.tenant_id \
     ) \
     SELECT ",
    claimed_columns!(),
    " FROM claimed r JOIN picked p ON p.id = r.id LEFT JOIN jobs j ON j.id = r.job_id \
     JOIN tenants t ON t.id = r.tenant_id \
     ORDER BY p.turn, p.last_claimed_at, r.tenant_id, p.not_before, r.id"
);

/// Whether sqlx's migration bookkeeping exists (a database never migrated has none).
pub const MIGRATIONS_TABLE_EXISTS: &str = "SELECT to_regclass('_sqlx_migrations') IS NOT NULL";

// Roles and grants (migration 0010; SQLite has none: it is single-user).

/// The current role, and whether it acts as an admin.
/// What `rota access grant` needs to know before changing roles: the current role, whether it
/// may create and alter roles (CREATEROLE, or a superuser), and whether the role `$1` exists.
pub const ROLE_PRIVILEGES: &str = "SELECT current_user::text AS me, \
     (SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user) \
       AS can_create_roles, \
     EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS role_exists";
/// The login role a change is made by (not `current_user`, which a `SET ROLE` changes).
pub const SESSION_ROLE: &str = "SELECT session_user::text";
pub const WHOAMI: &str = "SELECT current_user::text AS role, rota_access_is_admin() AS admin";
/// The current role's grants, by tenant name (its own rows are all a member may read).
pub const MY_GRANTS: &str = "SELECT t.name AS tenant, g.capability FROM access_grants g \
     JOIN tenants t ON t.id = g.tenant_id WHERE g.role_name = (current_user::text COLLATE \"default\") \
     ORDER BY t.name";
/// The current role's capability in tenant `$1`: `admin`, its grant, or NULL.
pub const CAPABILITY_IN: &str = "SELECT CASE WHEN rota_access_is_admin() THEN 'admin' ELSE \
     (SELECT g.capability FROM access_grants g JOIN tenants t ON t.id = g.tenant_id \
      WHERE g.role_name = (current_user::text COLLATE \"default\") AND t.name = $1) END AS capability";
/// Roles in this database's groups, whether each may log in and is an admin (a superuser
/// always is).
pub const GROUP_MEMBERS: &str = "SELECT r.rolname::text AS role, r.rolcanlogin AS login, \
     r.rolsuper OR EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles a ON a.oid = m.roleid \
         WHERE m.member = r.oid AND a.rolname = rota_access_admin_role()) AS admin \
     FROM pg_roles r WHERE EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles a \
         ON a.oid = m.roleid WHERE m.member = r.oid \
         AND a.rolname IN (rota_access_admin_role(), rota_access_member_role())) \
     ORDER BY r.rolname";
/// Every grant, by role and tenant name.
pub const ALL_GRANTS: &str = "SELECT g.role_name, t.name AS tenant, g.capability \
     FROM access_grants g JOIN tenants t ON t.id = g.tenant_id ORDER BY g.role_name, t.name";
/// Whether role `$1` exists and may log in (no row: it does not exist).
pub const ROLE_LOGIN: &str = "SELECT rolcanlogin AS login FROM pg_roles WHERE rolname = $1";
/// Creates login role `$1` if missing, sets its password verifier `$2` if not NULL, and makes
/// it a member (see the function in migration 0010); whether it was created.
pub const LOGIN_ROLE: &str = "SELECT rota_access_login($1, $2) AS created";
pub const MAKE_ADMIN: &str = "SELECT rota_access_make_admin($1)";
pub const LEAVE_GROUPS: &str = "SELECT rota_access_leave($1)";
/// Sets role `$1`'s capability in tenant `$2` to `$3` at `$4`; no row when there is no such
/// tenant.
pub const UPSERT_GRANT: &str = "INSERT INTO access_grants (role_name, tenant_id, capability, \
     granted_at) SELECT $1, t.id, $3, $4 FROM tenants t WHERE t.name = $2 \
     ON CONFLICT (role_name, tenant_id) DO UPDATE SET capability = excluded.capability, \
     granted_at = excluded.granted_at, granted_by = session_user \
     RETURNING tenant_id";
pub const TENANT_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM tenants WHERE name = $1)";
pub const DELETE_GRANT: &str = "DELETE FROM access_grants g USING tenants t \
     WHERE g.tenant_id = t.id AND g.role_name = $1 AND t.name = $2";
pub const DELETE_GRANTS: &str = "DELETE FROM access_grants WHERE role_name = $1";

/// Whether the server vacuums by itself (`on` or `off`).
pub const AUTOVACUUM_SETTING: &str = "SELECT current_setting('autovacuum')";

/// The tables whose rows Rota updates and deletes all the time (runs move through their states
/// and are pruned; jobs advance `next_run_at` at every tick; the outbox and the delivery log
/// are pruned), vacuumed by Rota when the server does not (see `reclaim_space`). `statement_timeout`
/// still bounds each.
pub const VACUUM_CHURNED_TABLES: [&str; 4] = [
    "VACUUM (ANALYZE) runs",
    "VACUUM (ANALYZE) jobs",
    "VACUUM (ANALYZE) outbox",
    "VACUUM (ANALYZE) deliveries",
];
