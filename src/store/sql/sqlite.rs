//! Statements for SQLite only: one writer holds the whole database, so locks are plain
//! reads, and the claim is split into steps the store runs in one IMMEDIATE transaction.

/// SQLite: changes run in an IMMEDIATE transaction that holds the write lock; a plain read
/// of the row first cannot be overtaken.
pub const LOCK_JOB: &str = job_by_id!();
pub const LOCK_TENANT: &str = tenant_by_name!();
pub const LOCK_TENANT_SETTINGS: &str = tenant_settings_by_name!();
pub const LOCK_NAMED_HANDLER: &str = "SELECT spec FROM named_handlers WHERE name = $1";
pub const LOCK_CALENDAR: &str = concat!(calendar_select!(), " WHERE c.id = $1");

/// SQLite: a bulk action's jobs as rows `v (id, version, next_run_at, probation)` from the
/// JSON array `$1` (see the Postgres version for why JSON). SQLite has no record type to read
/// JSON into: each member is extracted, and the id, sent as 32 hex digits, becomes the 16-byte
/// blob SQLite stores ids as (`unhex`, SQLite 3.41 and later), so the primary key is used.
pub const BULK_JOB_ROWS: &str = "(SELECT unhex(json_extract(e.value, '$.id')) AS id, \
     json_extract(e.value, '$.version') AS version, \
     json_extract(e.value, '$.next_run_at') AS next_run_at, \
     json_extract(e.value, '$.probation') AS probation FROM json_each($1) AS e) AS v";

/// SQLite: the claim's IMMEDIATE transaction excludes other workers; a plain read.
pub const PENDING_EVENTS: &str = pending_events!();

/// SQLite has a single writer and no `FOR UPDATE`: the tick runs inside a `BEGIN IMMEDIATE`
/// transaction, which already excludes every other writer, so a plain read is enough.
pub const DUE_JOBS: &str = due_jobs!();

/// SQLite: the write lock of the transaction is the only lock there is; nothing to skip.
pub const RENEW_LEASES_TAIL: &str = ")";

/// SQLite: as above, a plain read inside the IMMEDIATE transaction.
pub const EXPIRED_LEASES: &str = expired_leases!();

/// Claim, step 1: the same choice of tenants as on Postgres, without the lock clause (the
/// IMMEDIATE transaction holds the database's write lock, so nothing changes underneath).
pub const ELIGIBLE_TENANTS: &str = eligible_tenants!("");
/// [`ELIGIBLE_TENANTS`] by the walk in claim order alone, which it must agree with (tests).
pub const ELIGIBLE_TENANTS_BY_WALK: &str = eligible_tenants_by_walk!("");

/// Claim, step 2, one term per eligible tenant, joined by `UNION ALL` into one statement
/// (at most [`READY_RUNS_TERMS`] terms): SQLite has no `LATERAL`, and a window function over
/// all ready runs would read the whole queue. Each term is one bounded range scan of the
/// partial index `runs_queued_by_tenant`, as Postgres's `LATERAL`. Binds per term, in order
/// (positional `?`): the tenant, the horizon, and how many of its runs to read (the least of its
/// rooms and its share of the claim).
pub const READY_RUNS_TERM: &str = concat!("SELECT * FROM (", ready_runs!("?", "?", "?"), ")");
/// SQLite's default bound on the terms of a compound `SELECT` is 500.
pub const READY_RUNS_TERMS: usize = 400;

/// Claim, step 3: start the chosen runs (a run claimed ahead of its `not_before` starts
/// then). Binds: `$1` now, `$2` node, `$3` lease expiry, `$4` the lateness threshold, `$5`
/// whether the runs count for their tenant's rate limit (`rate_counted`: the tenant has one; the
/// claim knows it from [`ELIGIBLE_TENANTS`]' `rate_room`, so the runs of tenants with and
/// without a limit start in two statements instead of a look-up of each run's tenant), and the
/// caller appends the list of run ids `($6, $7, ...)`. Runs before [`MARK_SERVED`], so that a
/// late run reads its tenant's previous `limited_by`.
///
/// `OR FAIL` and a `CASE` instead of `MAX()`: no statement journal (see [`COMPLETE_RUNS_HEAD`]);
/// the shared path's claim rolls back on any error too.
pub const START_RUNS: &str = concat!(
    "UPDATE OR FAIL runs SET status = 'running', \
     started_at = CASE WHEN not_before > $1 THEN not_before ELSE $1 END, \
     lease_owner = $2, lease_expires_at = $3, fencing_token = fencing_token + 1, \
     waited_for = ",
    waited_for_on_start!("runs", "$1", "$4"),
    ", rate_counted = $5 WHERE status = 'queued' AND id IN "
);

/// [`super::COMPLETE_RUNS_HEAD`] for the hot path (`hot.rs`), without a statement journal. The
/// multi-row updates of the engine's cycle ([`START_RUNS`], this, [`JOBS_SUCCEEDED_HEAD`]) say
/// `UPDATE OR FAIL`: a statement that changes several rows and may stop half-way with
/// the default `ABORT` (a constraint it checks, a function it calls) keeps a statement
/// journal: a copy of every page it changes, so that it can undo itself alone and leave the
/// transaction going. In a cycle, any failure ends the whole transaction (it is rolled back),
/// so the copies are never used; measured, they were about 4% of the hot-path thread's
/// instructions. With `OR FAIL` a failing statement keeps what it changed and reports the
/// error, then the rollback undoes everything. A function call marks a statement as one that
/// may abort whatever the clause: `MAX(a, b)` is written as a `CASE`.
pub const COMPLETE_RUNS_HEAD: &str = concat!("UPDATE OR FAIL ", complete_runs_set!());

/// [`super::JOBS_SUCCEEDED_HEAD`] for the hot path, without a statement journal (see
/// [`COMPLETE_RUNS_HEAD`]).
pub const JOBS_SUCCEEDED_HEAD: &str = concat!("UPDATE OR FAIL ", jobs_succeeded_set!());

/// Claim, step 4, for every served tenant at once: it moves to the back of the line and
/// remembers which limit this claim used up. The builder appends `VALUES (tenant, limit,
/// now), ...` between head and tail (only the builder's placeholders: sqlx on SQLite cannot
/// mix numbered and positional ones). `OR FAIL`: no statement journal (see
/// [`COMPLETE_RUNS_HEAD`]; the `CHECK` on `limited_by` made it one that may abort).
pub const MARK_SERVED_HEAD: &str =
    "UPDATE OR FAIL tenants SET last_claimed_at = v.column3, limited_by = v.column2 FROM (";
pub const MARK_SERVED_TAIL: &str = ") AS v WHERE tenants.id = v.column1";

/// Claim, step 5: read back what was claimed (the caller appends the ids `($1, $2, ...)`).
pub const CLAIMED_RUNS: &str =
    concat!("SELECT ", claimed_columns!(), from_runs_and_tests!(), " WHERE r.id IN ");

/// Whether sqlx's migration bookkeeping exists (a database never migrated has none).
pub const MIGRATIONS_TABLE_EXISTS: &str = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations')";
