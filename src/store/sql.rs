//! Every SQL statement the stores run, written once.
//!
//! Statements at the top level are portable: both backends run them as they are (`$N`
//! placeholders work in sqlx on Postgres and on SQLite, instants are BIGINT milliseconds on both,
//! booleans compare as truth values on both, and `INSERT ... ON CONFLICT`, `UPDATE ... FROM` and
//! `RETURNING` exist in both dialects). The two submodules hold the only statements that differ,
//! and each says why.
//!
//! Column lists are `macro_rules!` that expand to string literals, so that `concat!` can build
//! complete statements at compile time without repeating them.

/// Columns of a tenant row, in the order [`super::codec::tenant`] reads them by name.
macro_rules! tenant_columns {
    () => {
        "id, name, max_concurrent, weight, paused, created_at, updated_at"
    };
}

/// Columns of a job (alias `j`) joined with its tenant (alias `t`).
macro_rules! job_columns {
    () => {
        "j.id, j.tenant_id, t.name AS tenant, j.name, j.schedule, j.timezone, j.handler, \
         j.payload, j.timeout_ms, j.enabled, j.disabled_reason, j.consecutive_failures, \
         j.next_run_at, j.last_run_at, j.created_at, j.updated_at, j.version"
    };
}

/// Columns of a run (alias `r`) joined with its job (alias `j`) and tenant (alias `t`).
macro_rules! run_columns {
    () => {
        "r.id, r.job_id, j.name AS job, r.tenant_id, t.name AS tenant, r.scheduled_at, \
         r.trigger, r.attempt, r.status, r.payload, r.queued_at, r.not_before, r.started_at, \
         r.finished_at, r.duration_ms, r.lease_owner, r.lease_expires_at, r.fencing_token, \
         r.exit_code, r.http_status, r.output, r.error"
    };
}

/// A run's columns plus what executing it needs from the job: a claimed run.
macro_rules! claimed_columns {
    () => {
        concat!(run_columns!(), ", j.handler, j.payload AS job_payload, j.timeout_ms")
    };
}

macro_rules! from_runs {
    () => {
        " FROM runs r JOIN jobs j ON j.id = r.job_id JOIN tenants t ON t.id = r.tenant_id"
    };
}

macro_rules! node_columns {
    () => {
        "id, host, pid, version, workers, started_at, heartbeat_at, stopped_at"
    };
}

/// Enabled jobs whose next run instant has come, oldest first. The partial index `jobs_due`
/// makes the cost depend on the due jobs only. Completed per backend (locking).
macro_rules! due_jobs {
    () => {
        "SELECT id, tenant_id, schedule, timezone, next_run_at FROM jobs \
         WHERE enabled AND next_run_at <= $1 ORDER BY next_run_at, id LIMIT $2"
    };
}

/// Tenants that may be served by a claim: not paused, whose next queued run is ready (one probe
/// into the partial index `runs_queued_by_tenant`), and with room under `max_concurrent` (a
/// count over the partial index `runs_running_by_tenant`). Least recently served first: with
/// `last_claimed_at` moved to `now` on every claim that serves a tenant, this is round robin,
/// and the index `tenants_claim_order` lets the scan stop after `$2` tenants.
///
/// The ready test is a correlated scalar subquery on purpose, not `EXISTS`: Postgres may turn an
/// `EXISTS` into a semi-join driven by all ready runs (it did, without statistics, right after
/// a bulk enqueue: 230 ms per claim with 100,000 ready runs), and a scalar subquery is never
/// flattened, so the cost stays one index probe per tenant looked at, whatever the queue holds.
/// Columns: `id` (first, for `query_scalar`), `weight`, and `room` (`max_concurrent` minus the
/// running count). Completed per backend (locking).
macro_rules! eligible_tenants {
    () => {
        "SELECT t.id, t.weight, \
                t.max_concurrent - (SELECT count(*) FROM runs c \
                                    WHERE c.tenant_id = t.id AND c.status = 'running') AS room \
         FROM tenants t \
         WHERE NOT t.paused \
           AND (SELECT q.not_before FROM runs q WHERE q.tenant_id = t.id AND q.status = 'queued' \
                ORDER BY q.not_before LIMIT 1) <= $1 \
           AND (SELECT count(*) FROM runs c \
                WHERE c.tenant_id = t.id AND c.status = 'running') < t.max_concurrent \
         ORDER BY t.last_claimed_at, t.id \
         LIMIT $2"
    };
}

// Tenants.

pub const INSERT_TENANT: &str = concat!(
    "INSERT INTO tenants (id, name, max_concurrent, weight, paused, last_claimed_at, created_at, \
     updated_at) VALUES ($1, $2, $3, $4, FALSE, 0, $5, $5) RETURNING ",
    tenant_columns!()
);
pub const TENANT_BY_NAME: &str =
    concat!("SELECT ", tenant_columns!(), " FROM tenants WHERE name = $1");
pub const LIST_TENANTS: &str = concat!("SELECT ", tenant_columns!(), " FROM tenants ORDER BY name");
/// `NULL` leaves a field as it is.
pub const UPDATE_TENANT: &str = concat!(
    "UPDATE tenants SET max_concurrent = COALESCE($2, max_concurrent), \
     weight = COALESCE($3, weight), paused = COALESCE($4, paused), updated_at = $5 \
     WHERE name = $1 RETURNING ",
    tenant_columns!()
);

// Named handlers.

pub const UPSERT_NAMED_HANDLER: &str = "INSERT INTO named_handlers (id, name, spec, created_at, \
     updated_at) VALUES ($1, $2, $3, $4, $4) \
     ON CONFLICT (name) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at";
pub const NAMED_HANDLER: &str = "SELECT spec FROM named_handlers WHERE name = $1";

// Jobs.

pub const INSERT_JOB: &str = "INSERT INTO jobs (id, tenant_id, name, schedule, timezone, handler, \
     payload, timeout_ms, enabled, consecutive_failures, next_run_at, created_at, updated_at, \
     version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, 0, $9, $10, $10, 1)";
pub const SELECT_JOBS: &str =
    concat!("SELECT ", job_columns!(), " FROM jobs j JOIN tenants t ON t.id = j.tenant_id");
pub const JOB_BY_ID: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM jobs j JOIN tenants t ON t.id = j.tenant_id WHERE j.id = $1"
);
pub const JOB_BY_NAME: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM jobs j JOIN tenants t ON t.id = j.tenant_id WHERE t.name = $1 AND j.name = $2"
);
/// Optimistic concurrency: changes nothing unless the stored version is `$2`.
pub const UPDATE_JOB: &str = "UPDATE jobs SET name = $3, schedule = $4, timezone = $5, \
     handler = $6, payload = $7, timeout_ms = $8, next_run_at = $9, updated_at = $10, \
     version = version + 1 WHERE id = $1 AND version = $2";
pub const JOB_VERSION: &str = "SELECT version FROM jobs WHERE id = $1";
/// Enabling a job again also forgets its failure streak (it was usually disabled because of it).
pub const SET_JOB_ENABLED: &str = "UPDATE jobs SET enabled = $2, disabled_reason = $3, \
     next_run_at = $4, updated_at = $5, version = version + 1, \
     consecutive_failures = CASE WHEN $2 THEN 0 ELSE consecutive_failures END WHERE id = $1";
pub const NEXT_DUE_AT: &str = "SELECT MIN(next_run_at) FROM jobs WHERE enabled";

// The tick.

/// Head of the batched insert of scheduled occurrences; the builder appends `VALUES (...), ...`
/// with the columns in this order, then [`ON_OCCURRENCE_CONFLICT`].
pub const INSERT_RUNS: &str = "INSERT INTO runs (id, job_id, tenant_id, scheduled_at, trigger, \
     attempt, status, queued_at, not_before) ";
/// An occurrence (job, instant, attempt) that already exists was enqueued by someone else:
/// leave it alone and do not count it.
pub const ON_OCCURRENCE_CONFLICT: &str = " ON CONFLICT (job_id, scheduled_at, attempt) DO NOTHING";
/// Head of the batched advance of `next_run_at`; the builder appends `VALUES (id, next), ...`
/// and then [`ADVANCE_JOBS_TAIL`]. (An unnamed `VALUES` list has columns `column1`, `column2`
/// in both dialects.)
pub const ADVANCE_JOBS_HEAD: &str = "UPDATE jobs SET next_run_at = v.column2 FROM (";
pub const ADVANCE_JOBS_TAIL: &str = ") AS v WHERE jobs.id = v.column1";

// Runs.

pub const SELECT_RUNS: &str = concat!("SELECT ", run_columns!(), from_runs!());
pub const RUN_BY_ID: &str = concat!("SELECT ", run_columns!(), from_runs!(), " WHERE r.id = $1");
/// A run of attempt 1; `ON CONFLICT` reports a taken occurrence as 0 rows instead of an error.
pub const INSERT_RUN: &str = "INSERT INTO runs (id, job_id, tenant_id, scheduled_at, trigger, \
     attempt, status, payload, queued_at, not_before) \
     VALUES ($1, $2, $3, $4, $5, 1, 'queued', $6, $7, $7) \
     ON CONFLICT (job_id, scheduled_at, attempt) DO NOTHING";
/// The next attempt of run `$5` (same job, occurrence and payload), with trigger `$2`, queued at
/// `$3` and ready at `$4`. (SQLite needs the `WHERE` to parse `INSERT ... SELECT ... ON
/// CONFLICT`; it is there anyway.)
pub const INSERT_NEXT_ATTEMPT: &str = "INSERT INTO runs (id, job_id, tenant_id, scheduled_at, \
     trigger, attempt, status, payload, queued_at, not_before) \
     SELECT $1, job_id, tenant_id, scheduled_at, $2, attempt + 1, 'queued', payload, $3, $4 \
     FROM runs WHERE id = $5 \
     ON CONFLICT (job_id, scheduled_at, attempt) DO NOTHING";
/// The earliest instant a queued run of a tenant that is not paused becomes ready.
pub const NEXT_READY_AT: &str = "SELECT MIN(r.not_before) FROM runs r \
     JOIN tenants t ON t.id = r.tenant_id WHERE r.status = 'queued' AND NOT t.paused";

/// The claimed run's result is accepted only if it is still running under the same claim: the
/// same node and the same fencing token. A claim that was superseded (the lease expired and the
/// run was recovered, then maybe claimed again) matches no row.
pub const COMPLETE_RUN: &str = "UPDATE runs SET status = $4, finished_at = $5, duration_ms = $6, \
     exit_code = $7, http_status = $8, output = $9, error = $10, lease_owner = NULL, \
     lease_expires_at = NULL \
     WHERE id = $1 AND status = 'running' AND lease_owner = $2 AND fencing_token = $3 \
     RETURNING job_id";
/// `last_run_at` never moves back, whatever order results arrive in.
macro_rules! job_finished {
    ($streak:literal) => {
        concat!(
            "UPDATE jobs SET last_run_at = CASE WHEN last_run_at IS NULL OR last_run_at < $2 \
             THEN $2 ELSE last_run_at END",
            $streak,
            " WHERE id = $1"
        )
    };
}
pub const JOB_SUCCEEDED: &str = job_finished!(", consecutive_failures = 0");
pub const JOB_FAILED: &str = job_finished!(", consecutive_failures = consecutive_failures + 1");
/// Cancelled, or failed with a retry planned: the streak waits for the final outcome.
pub const JOB_FINISHED: &str = job_finished!("");

/// The running runs of node `$1`. Completed per backend (locking).
macro_rules! leases_of_node {
    () => {
        "SELECT id FROM runs WHERE status = 'running' AND lease_owner = $1"
    };
}

/// Running runs whose lease expired before `$1`, in a fixed order. Bounded so that one reap
/// after a long outage stays one short transaction; the engine reaps again at its next period.
/// Completed per backend (locking).
macro_rules! expired_leases {
    () => {
        "SELECT id FROM runs WHERE status = 'running' AND lease_expires_at < $1 \
         ORDER BY lease_expires_at, id LIMIT 500"
    };
}
/// Re-checks the expiry: a node that renewed in the meantime keeps its run. (The `SET`
/// expressions read the row as it was, so the error names the owner before it is cleared.)
pub const MARK_LOST: &str = "UPDATE runs SET status = 'lost', finished_at = $2, \
     duration_ms = $2 - started_at, \
     error = 'lease expired: node ' || lease_owner || ' stopped renewing', \
     lease_owner = NULL, lease_expires_at = NULL \
     WHERE id = $1 AND status = 'running' AND lease_expires_at < $2";
pub const RELEASE: &str = "UPDATE runs SET status = 'queued', started_at = NULL, \
     lease_owner = NULL, lease_expires_at = NULL WHERE status = 'running' AND lease_owner = $1";

// Nodes.

pub const REGISTER_NODE: &str = concat!(
    "INSERT INTO nodes (",
    node_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
     ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, \
     version = excluded.version, workers = excluded.workers, started_at = excluded.started_at, \
     heartbeat_at = excluded.heartbeat_at, stopped_at = excluded.stopped_at"
);
pub const HEARTBEAT: &str = "UPDATE nodes SET heartbeat_at = $2 WHERE id = $1";
pub const MARK_NODE_STOPPED: &str = "UPDATE nodes SET stopped_at = $2 WHERE id = $1";
pub const LIST_NODES: &str =
    concat!("SELECT ", node_columns!(), " FROM nodes ORDER BY started_at DESC, id");

/// Statements for Postgres only.
// The console's views.
/// Tenants with live counts. Each count is a bounded scan of an index: `jobs (tenant_id, name)`,
/// the partial indexes on running and queued runs, and `runs_by_tenant` for recent failures.
/// `$1`: failures count from this instant; `$2`: the auto-disabled reason's prefix as a `LIKE`
/// pattern.
pub const TENANT_OVERVIEW: &str = concat!(
    "SELECT ",
    tenant_columns!(),
    ", (SELECT COUNT(*) FROM jobs j WHERE j.tenant_id = tenants.id) AS jobs, \
     (SELECT COUNT(*) FROM jobs j WHERE j.tenant_id = tenants.id AND NOT j.enabled \
        AND j.disabled_reason LIKE $2) AS auto_disabled_jobs, \
     (SELECT COUNT(*) FROM runs r WHERE r.tenant_id = tenants.id AND r.status = 'running') AS running, \
     (SELECT COUNT(*) FROM runs r WHERE r.tenant_id = tenants.id AND r.status = 'queued') AS queued, \
     (SELECT COUNT(*) FROM runs r WHERE r.tenant_id = tenants.id \
        AND r.status IN ('failed', 'timed_out', 'lost') AND r.finished_at >= $1) AS failed_since \
     FROM tenants ORDER BY name"
);
/// The job page's count; the store appends the same filters as to [`SELECT_JOBS`].
pub const COUNT_JOBS: &str =
    "SELECT COUNT(*) AS total FROM jobs j JOIN tenants t ON t.id = j.tenant_id";

pub mod postgres {
    /// Postgres: several scheduler nodes tick at once. `SKIP LOCKED` lets each take a disjoint
    /// batch instead of queueing behind another node's transaction; `NO KEY UPDATE` is the lock
    /// the later `UPDATE` of `next_run_at` needs anyway, and does not block inserts of runs that
    /// reference the job (their foreign-key check takes `KEY SHARE`).
    pub const DUE_JOBS: &str = concat!(due_jobs!(), " FOR NO KEY UPDATE SKIP LOCKED");

    /// Postgres: the node's result writer may hold some of these rows locked while it records
    /// their results. Renewal skips them (they are finishing) instead of waiting, so renewal
    /// and completion can never lock the same rows in opposite orders and deadlock.
    pub const RENEW_LEASES: &str = concat!(
        "UPDATE runs SET lease_expires_at = $2 WHERE id IN (",
        leases_of_node!(),
        " FOR NO KEY UPDATE SKIP LOCKED)"
    );

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
    /// and step 2 recounts.)
    pub const LOCK_ELIGIBLE_TENANTS: &str =
        concat!(eligible_tenants!(), " FOR NO KEY UPDATE OF t SKIP LOCKED");

    /// Claim, step 2 of 2: for each locked tenant (`$1`), read up to `LEAST(limit, room)` of its
    /// oldest ready runs with one bounded index range scan each (`LATERAL ... LIMIT`), so the
    /// cost grows with the tenants served, never with the queue. Runs are then interleaved in
    /// weighted rounds (each tenant takes `weight` runs per round: everyone's first round before
    /// anyone's second), cut at `$3`, started under lease for node `$4` until `$5`, and the served
    /// tenants move to the back of the line. A lone busy tenant therefore fills the whole claim,
    /// while a tenant with one ready run is served in the first round. The runs need no row
    /// locks of their own: every transition into `running` happens under the tenant row lock
    /// taken in step 1, which this transaction holds. Binds: `$1` tenant ids, `$2` now, `$3`
    /// limit, `$4` node, `$5` lease expiry.
    pub const CLAIM_RUNS: &str = concat!(
        "WITH locked AS ( \
             SELECT t.id, t.weight, t.last_claimed_at, \
                    LEAST($3, t.max_concurrent - (SELECT count(*) FROM runs c \
                          WHERE c.tenant_id = t.id AND c.status = 'running')) AS room \
             FROM tenants t WHERE t.id = ANY($1) \
         ), \
         picked AS ( \
             SELECT q.id, l.id AS tenant_id, \
                    (row_number() OVER (PARTITION BY l.id ORDER BY q.not_before, q.id) - 1) \
                        / l.weight AS turn, \
                    q.not_before, \
                    l.last_claimed_at \
             FROM locked l \
             CROSS JOIN LATERAL ( \
                 SELECT r.id, r.not_before FROM runs r \
                 WHERE r.tenant_id = l.id AND r.status = 'queued' AND r.not_before <= $2 \
                 ORDER BY r.not_before, r.id \
                 LIMIT GREATEST(l.room, 0) \
             ) q \
             ORDER BY turn, l.last_claimed_at, l.id, q.not_before, q.id \
             LIMIT $3 \
         ), \
         claimed AS ( \
             UPDATE runs r SET status = 'running', started_at = $2, lease_owner = $4, \
                    lease_expires_at = $5, fencing_token = r.fencing_token + 1 \
             FROM picked p WHERE r.id = p.id AND r.status = 'queued' \
             RETURNING r.*, p.turn, p.last_claimed_at AS served_after \
         ), \
         served AS ( \
             UPDATE tenants SET last_claimed_at = $2 \
             WHERE id IN (SELECT tenant_id FROM claimed) \
         ) \
         SELECT ",
        claimed_columns!(),
        " FROM claimed r JOIN jobs j ON j.id = r.job_id JOIN tenants t ON t.id = r.tenant_id \
         ORDER BY r.turn, r.served_after, r.tenant_id"
    );
}

/// Statements for SQLite only.
pub mod sqlite {
    /// SQLite has a single writer and no `FOR UPDATE`: the tick runs inside a `BEGIN IMMEDIATE`
    /// transaction, which already excludes every other writer, so a plain read is enough.
    pub const DUE_JOBS: &str = due_jobs!();

    /// SQLite: the write lock of the transaction is the only lock there is; nothing to skip.
    pub const RENEW_LEASES: &str =
        concat!("UPDATE runs SET lease_expires_at = $2 WHERE id IN (", leases_of_node!(), ")");

    /// SQLite: as above, a plain read inside the IMMEDIATE transaction.
    pub const EXPIRED_LEASES: &str = expired_leases!();

    /// Claim, step 1: the same choice of tenants as on Postgres, without the lock clause (the
    /// IMMEDIATE transaction holds the database's write lock, so nothing changes underneath).
    pub const ELIGIBLE_TENANTS: &str = eligible_tenants!();

    /// Claim, step 2, once per eligible tenant: SQLite has no `LATERAL`, and a window function
    /// over all ready runs would read the whole queue. One bounded range scan of the partial
    /// index `runs_queued_by_tenant` per tenant costs the same as Postgres's `LATERAL` (and
    /// in-process statements cost no round trip). `$3` is `MIN(weight, room)`.
    pub const READY_RUNS_OF_TENANT: &str = "SELECT id FROM runs \
         WHERE tenant_id = $1 AND status = 'queued' AND not_before <= $2 \
         ORDER BY not_before, id LIMIT $3";

    /// Claim, step 3: start the chosen runs. Binds: `$1` now, `$2` node, `$3` lease expiry, and
    /// the caller appends the list of run ids `($4, $5, ...)`.
    pub const START_RUNS: &str = "UPDATE runs SET status = 'running', started_at = $1, \
         lease_owner = $2, lease_expires_at = $3, fencing_token = fencing_token + 1 \
         WHERE status = 'queued' AND id IN ";

    /// Claim, step 4: the served tenants move to the back of the line. Bind: `$1` now, and the
    /// caller appends the list of tenant ids `($2, $3, ...)`.
    pub const MARK_SERVED: &str = "UPDATE tenants SET last_claimed_at = $1 WHERE id IN ";

    /// Claim, step 5: read back what was claimed (the caller appends the ids `($1, $2, ...)`).
    pub const CLAIMED_RUNS: &str =
        concat!("SELECT ", claimed_columns!(), from_runs!(), " WHERE r.id IN ");
}
