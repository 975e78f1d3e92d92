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
        "id, name, max_concurrent, weight, paused, rate_limit_count, rate_limit_window_ms, \
         default_max_retries, default_auto_disable_after, created_at, updated_at"
    };
}

/// A job's policy columns, as [`super::codec::job_policy`] reads them by name (unprefixed, for
/// inserts). Their order is the order [`INSERT_JOB`] and [`UPDATE_JOB_POLICY`] bind them in.
macro_rules! policy_column_names {
    () => {
        "max_retries, retry_backoff, retry_initial_ms, retry_multiplier, retry_max_ms, \
         retry_jitter, overlap, missed, missed_max_runs, catch_up_window_ms, auto_disable_after, \
         probation, jitter_window_ms, exclude_calendars, only_calendar, on_excluded"
    };
}

/// The same policy columns of a job aliased `j`, for reads.
macro_rules! policy_columns {
    () => {
        "j.max_retries, j.retry_backoff, j.retry_initial_ms, j.retry_multiplier, j.retry_max_ms, \
         j.retry_jitter, j.overlap, j.missed, j.missed_max_runs, j.catch_up_window_ms, \
         j.auto_disable_after, j.probation, j.jitter_window_ms, j.exclude_calendars, \
         j.only_calendar, j.on_excluded"
    };
}

/// Columns of a job (alias `j`) joined with its tenant (alias `t`).
macro_rules! job_columns {
    () => {
        concat!(
            "j.id, j.tenant_id, t.name AS tenant, j.name, j.schedule, j.timezone, j.handler, \
             j.payload, j.timeout_ms, j.enabled, j.disabled_by, j.disabled_reason, j.consecutive_failures, \
             j.last_error, j.enabled_by, j.on_probation, j.paused, t.paused AS tenant_paused, \
             j.paused_at, j.resumed_at, j.next_run_at, j.last_run_at, j.created_at, j.updated_at, j.version, ",
            policy_columns!()
        )
    };
}

/// Columns of a run (alias `r`) joined with its job (alias `j`) and tenant (alias `t`). A test
/// run has no job (`job_id` and `job` are NULL, [`from_runs_and_tests`]): its `definition`
/// names it.
macro_rules! run_columns {
    () => {
        "r.id, r.job_id, j.name AS job, r.tenant_id, t.name AS tenant, r.scheduled_at, \
         r.trigger, r.attempt, r.status, r.payload, r.queued_at, r.not_before, r.started_at, \
         r.finished_at, r.duration_ms, r.lease_owner, r.lease_expires_at, r.fencing_token, \
         r.exit_code, r.http_status, r.output, r.error, r.reason, r.waited_for, \
         r.cancel_requested, r.definition"
    };
}

/// A run's columns plus what executing it needs from the job: a claimed run. The tenant's
/// signing secret and command defaults come along (see [`super::codec::run_context`]). A test
/// run's job columns are NULL: its `definition` holds the handler, payload and timeout, and it
/// has no retries (see [`super::codec::claimed_run`]).
macro_rules! claimed_columns {
    () => {
        concat!(
            run_columns!(),
            ", j.handler, j.payload AS job_payload, j.timeout_ms",
            // The retry policy in effect: the job's, with its tenant's default number of retries.
            ", COALESCE(j.max_retries, t.default_max_retries) AS max_retries, j.retry_backoff, \
             j.retry_initial_ms, j.retry_multiplier, j.retry_max_ms, j.retry_jitter",
            ", t.webhook_secret, t.command_limits, t.run_as, t.work_dir"
        )
    };
}

/// Runs of jobs: the inner join leaves test runs out (they are no job's history).
macro_rules! from_runs {
    () => {
        " FROM runs r JOIN jobs j ON j.id = r.job_id JOIN tenants t ON t.id = r.tenant_id"
    };
}

/// Runs of jobs and test runs (which have no job): what the engine claims and a run read by id.
macro_rules! from_runs_and_tests {
    () => {
        " FROM runs r LEFT JOIN jobs j ON j.id = r.job_id JOIN tenants t ON t.id = r.tenant_id"
    };
}

macro_rules! node_columns {
    () => {
        "id, host, pid, version, workers, started_at, heartbeat_at, stopped_at, health"
    };
}

/// Enabled jobs that are not paused whose next run instant has come, oldest first, with their
/// policies and how many of their runs are running and queued (for the overlap policy). The
/// partial index `jobs_due` makes the cost depend on the due jobs only; the counts read the
/// partial indexes `runs_running` (tenant and job) and `runs_queued_by_job`. Completed per backend
/// (locking).
///
/// On Postgres the counts are read in the statement's snapshot: a previous run that completes
/// while this statement waits for the job's row lock may still be counted as running, so an
/// occurrence racing with its predecessor's end may be skipped as overlapping. That race exists
/// whatever the implementation (the end could as well come a millisecond later).
macro_rules! due_jobs {
    () => {
        concat!(
            "SELECT j.id, j.tenant_id, j.schedule, j.timezone, j.next_run_at, j.paused_at, \
             j.resumed_at, ",
            policy_columns!(),
            // Overlap policies only ask whether a run is running or queued: stop at the first
            // (a job whose runs pile up in an overload would otherwise be counted in full on
            // every tick).
            ", (SELECT count(*) FROM (SELECT 1 FROM runs a WHERE a.tenant_id = j.tenant_id \
                 AND a.job_id = j.id AND a.status = 'running' LIMIT 1) AS r) AS running, \
             (SELECT count(*) FROM (SELECT 1 FROM runs a WHERE a.job_id = j.id \
                 AND a.status = 'queued' LIMIT 1) AS q) AS queued \
             FROM jobs j WHERE j.enabled AND NOT j.paused AND j.next_run_at <= $1 \
             ORDER BY j.next_run_at, j.id LIMIT $2"
        )
    };
}

/// The number of running runs of tenant `$t` (a bounded count over `runs_running`).
macro_rules! running_of {
    ($t:literal) => {
        concat!(
            "(SELECT count(*) FROM runs c WHERE c.tenant_id = ",
            $t,
            ".id AND c.status = 'running')"
        )
    };
}

/// How many more runs tenant `$t` may start at `$now` under its rate limit (NULL: no limit):
/// the limit minus its starts within the sliding window, counted over `runs_rate_starts` (at
/// most about the limit's count of rows): the runs started while the tenant had a rate limit
/// (`rate_counted`, set by the claim; setting a limit marks the starts already in its window,
/// [`MARK_RATE_COUNTED`]).
macro_rules! rate_room_of {
    ($t:literal, $now:literal) => {
        concat!(
            "CASE WHEN ",
            $t,
            ".rate_limit_count IS NOT NULL THEN ",
            $t,
            ".rate_limit_count - (SELECT count(*) FROM runs s WHERE s.tenant_id = ",
            $t,
            ".id AND s.rate_counted AND s.started_at > ",
            $now,
            " - ",
            $t,
            ".rate_limit_window_ms) END"
        )
    };
}

/// Up to `$limit` ready runs of tenant `$tenant` at `$now`, oldest first: one bounded range scan
/// of `runs_queued_by_tenant`. A run of a job whose overlap policy is exclusive (`queue_one` or
/// `cancel_previous`, as [`crate::policy::OverlapPolicy::exclusive`]) is passed over while
/// another run of that job is running (one probe of `runs_running`); `exclusive` tells the
/// claim to start at most one run of such a job at once. A test run has no job (`LEFT JOIN`)
/// and no overlap policy: never exclusive, and its `job_id` here is its own id.
macro_rules! ready_runs {
    ($tenant:literal, $now:literal, $limit:literal) => {
        concat!(
            "SELECT r.id, COALESCE(r.job_id, r.id) AS job_id, r.tenant_id, r.not_before, \
                    COALESCE(j.overlap, 'allow') IN ('queue_one', 'cancel_previous') \
                        AS exclusive \
             FROM runs r LEFT JOIN jobs j ON j.id = r.job_id \
             WHERE r.tenant_id = ",
            $tenant,
            " AND r.status = 'queued' AND r.not_before <= ",
            $now,
            " AND (COALESCE(j.overlap, 'allow') NOT IN ('queue_one', 'cancel_previous') \
                  OR NOT EXISTS (SELECT 1 FROM runs x WHERE x.tenant_id = r.tenant_id \
                                 AND x.job_id = r.job_id AND x.status = 'running')) \
             ORDER BY r.not_before, r.id LIMIT ",
            $limit
        )
    };
}

/// Whether a run that starts now counts for its tenant's rate limit (`runs.rate_counted`): when
/// the tenant has one. (Postgres's claim; SQLite's binds it, see `sqlite::START_RUNS`.)
macro_rules! rate_counted_on_start {
    ($run:literal) => {
        concat!(
            "(SELECT rc.rate_limit_count IS NOT NULL FROM tenants rc WHERE rc.id = ",
            $run,
            ".tenant_id)"
        )
    };
}

/// What a run that starts now waited for: kept if the tick already said (overlap), else, when
/// it starts more than `$threshold` ms after it became ready, the limit its tenant's previous
/// claim used up (`tenants.limited_by`, read before this claim changes it). A tenant that used
/// up its room stays unserved until a claim finds room again, so a run that became ready in
/// between waited for that limit. (After downtime a late run may be attributed to a limit the
/// tenant reached before it; the record is a hint for people, not an accounting.)
macro_rules! waited_for_on_start {
    ($run:literal, $now:literal, $threshold:literal) => {
        concat!(
            "COALESCE(",
            $run,
            ".waited_for, CASE WHEN ",
            $run,
            ".not_before < ",
            $now,
            " - ",
            $threshold,
            " THEN (SELECT lt.limited_by FROM tenants lt WHERE lt.id = ",
            $run,
            ".tenant_id) END)"
        )
    };
}

/// What the claim reads of a tenant `t` it may serve at `$1`: `id` (first, for
/// `query_scalar`), `weight`, `last_claimed_at` (the order), `room` (`max_concurrent` minus the
/// running count), `rate_room` (NULL without a rate limit) and `watch_throttled` (the tenant
/// wants `tenant.throttled` events and has a rate limit: only then does the claim look for
/// throttling, see [`MARK_THROTTLED`]).
macro_rules! eligible_tenant_columns {
    () => {
        concat!(
            "t.id, t.weight, t.last_claimed_at, t.max_concurrent - ",
            running_of!("t"),
            " AS room, ",
            rate_room_of!("t", "$1"),
            " AS rate_room, \
             t.notify_throttled AND t.rate_limit_count IS NOT NULL AS watch_throttled"
        )
    };
}

/// Whether tenant `t` may start a run at `$now`: room under `max_concurrent` (a count over the
/// partial index `runs_running`) and under its rate limit if it has one (a count over
/// `runs_rate_starts`).
macro_rules! tenant_has_room {
    ($now:literal) => {
        concat!(
            running_of!("t"),
            " < t.max_concurrent AND COALESCE(",
            rate_room_of!("t", $now),
            ", 1) > 0"
        )
    };
}

/// Whether a claim at `$1` with horizon `$3` may serve tenant `t`: not paused, its next queued
/// run ready (one probe into the partial index `runs_queued_by_tenant`: a run counts as ready
/// when its `not_before` is at most the horizon, now or a moment ahead so that runs are claimed
/// before their instant and start on it), room under `max_concurrent` (a count over the partial
/// index `runs_running`) and under the rate limit if any (a count over `runs_rate_starts`).
///
/// The ready test is a correlated scalar subquery on purpose, not `EXISTS`: Postgres may turn an
/// `EXISTS` into a semi-join driven by all ready runs (it did, without statistics, right after
/// a bulk enqueue: 230 ms per claim with 100,000 ready runs), and a scalar subquery is never
/// flattened, so the cost stays one index probe per tenant looked at, whatever the queue holds.
macro_rules! eligible_tenant_tests {
    () => {
        concat!(
            "NOT t.paused \
             AND (SELECT q.not_before FROM runs q \
                  WHERE q.tenant_id = t.id AND q.status = 'queued' \
                  ORDER BY q.not_before LIMIT 1) <= $3 \
             AND ",
            tenant_has_room!("$1")
        )
    };
}

/// The tenants a claim serves: up to `$2` of the tenants that pass [`eligible_tenant_tests!`],
/// least recently served first (`last_claimed_at`, then `id`); with `last_claimed_at` moved to
/// `now` on every claim that serves a tenant, this is round robin. Columns:
/// [`eligible_tenant_columns!`]. `$lock` is the backend's row lock on `t` (Postgres) or nothing
/// (SQLite).
///
/// The same answer is found one of two ways, whichever costs less; the other branch's `LIMIT`
/// is 0, and neither backend starts a branch limited to nothing:
/// - `walk`: the unpaused tenants in that order (`tenants_claim_order`), one probe of each one's
///   queue, stopping after `$2` eligible ones. Cheap while the tenants first in line have ready
///   work. But a tenant with nothing queued is never served, so idle tenants gather at the head
///   of the line: with 999 idle tenants and one flooding, every claim probed 1,000 queues (the
///   fairness benchmark's flood ran at 0.83 of a FIFO claim's rate on SQLite).
/// - `among`: only the tenants that have queued runs, enumerated by a loose index scan of
///   `runs_queued_by_tenant` (`queued_tenants`: from one tenant id to the next that has a queued
///   run, one probe per such tenant, stopping after `$2 + 1`; a NULL id marks the end), tested,
///   ordered and limited the same way. Every tenant the walk can return has a queued run, so
///   when the scan reached the end it found them all, and the answer is the walk's
///   (`tests/claim_choice.rs` checks it over random queues).
///
/// `strategy` takes `among` when the tenant first in line has no ready run (`first_in_line`: the
/// walk would begin by passing over tenants) and the scan found at most `$2` tenants with queued
/// runs. Both keep `among` from costing more than the walk: it tests and sorts every tenant it
/// finds, at most `$2`, as many as the walk tests at best; when it gives up, `$2 + 1` probes were
/// spent; and when the head of the line is ready (every tenant busy, as in the throughput
/// benchmark) the scan is not started. More than `$2` tenants with queued runs behind idle ones
/// still cost the whole walk. Postgres runs the plain walk unless this statement is likely to
/// take `among` (`ChoiceHint` in `postgres/mod.rs`: it initialises the whole plan on every
/// execution).
///
/// On Postgres `$lock` sits inside each branch, above its tests, order and limit: only the
/// tenants returned are locked, and those another claim holds are skipped for the next in line,
/// as in the walk. Both branches read the statement's one snapshot. Each row also says which
/// branch chose it (`among_queued`).
///
/// Plans. `among` must start from its few ids: written `CROSS JOIN`, which SQLite takes as the
/// join order (the left table in the outer loop). As a plain join, SQLite 3.46 preferred to walk `tenants_claim_order`
/// to save the sort, testing every tenant before matching it with the ids: as slow as the walk
/// (14,400 VM steps against 440 with 999 idle tenants; `tests/claim_choice.rs` checks the plan).
/// Postgres, which does not fix the order for `CROSS JOIN`, joins the ids to `tenants_pkey` in a
/// nested loop, checked with `EXPLAIN` under realistic statistics and with `runs` and `tenants`
/// analysed empty, custom and generic; every probe is an index probe whatever the statistics
/// (`use_indexes` also turns sequential scans off in the claim's transaction).
macro_rules! eligible_tenants {
    ($lock:literal) => {
        concat!(
            "WITH RECURSIVE \
             first_in_line(ready) AS ( \
                 SELECT COALESCE((SELECT (SELECT f.not_before FROM runs f \
                                          WHERE f.tenant_id = h.id AND f.status = 'queued' \
                                          ORDER BY f.not_before LIMIT 1) <= $3 \
                                  FROM tenants h WHERE NOT h.paused \
                                  ORDER BY h.last_claimed_at, h.id LIMIT 1), FALSE) \
             ), \
             queued_tenants(id, n) AS ( \
                 SELECT (SELECT r.tenant_id FROM runs r WHERE r.status = 'queued' \
                         ORDER BY r.tenant_id LIMIT 1), 1 \
                 WHERE NOT (SELECT ready FROM first_in_line) \
                 UNION ALL \
                 SELECT (SELECT r.tenant_id FROM runs r \
                         WHERE r.status = 'queued' AND r.tenant_id > qt.id \
                         ORDER BY r.tenant_id LIMIT 1), qt.n + 1 \
                 FROM queued_tenants qt WHERE qt.id IS NOT NULL AND qt.n <= $2 \
             ), \
             strategy(among) AS ( \
                 SELECT EXISTS (SELECT 1 FROM queued_tenants WHERE id IS NULL) \
             ) \
             SELECT * FROM (SELECT ",
            eligible_tenant_columns!(),
            ", TRUE AS among_queued FROM queued_tenants qt CROSS JOIN tenants t WHERE t.id = qt.id AND ",
            eligible_tenant_tests!(),
            " ORDER BY t.last_claimed_at, t.id \
             LIMIT CASE WHEN (SELECT among FROM strategy) THEN $2 ELSE 0 END",
            $lock,
            ") AS among \
             UNION ALL \
             SELECT * FROM (SELECT ",
            eligible_tenant_columns!(),
            ", FALSE AS among_queued FROM tenants t WHERE ",
            eligible_tenant_tests!(),
            " ORDER BY t.last_claimed_at, t.id \
             LIMIT CASE WHEN (SELECT among FROM strategy) THEN 0 ELSE $2 END",
            $lock,
            ") AS walk \
             ORDER BY last_claimed_at, id"
        )
    };
}

/// [`eligible_tenants!`] by the walk alone, the reference it must always agree with (see
/// `tests/claim_choice.rs`), and Postgres's usual choice (`ChoiceHint` in `postgres/mod.rs`).
macro_rules! eligible_tenants_by_walk {
    ($lock:literal) => {
        concat!(
            "SELECT ",
            eligible_tenant_columns!(),
            " FROM tenants t WHERE ",
            eligible_tenant_tests!(),
            " ORDER BY t.last_claimed_at, t.id LIMIT $2",
            $lock
        )
    };
}

/// A tenant by name (`$1`). Completed per backend (locking) where a change reads it first.
macro_rules! tenant_by_name {
    () => {
        concat!("SELECT ", tenant_columns!(), " FROM tenants WHERE name = $1")
    };
}

/// A job by id (`$1`) with its tenant's name. Completed per backend (locking) where a change
/// reads it first.
macro_rules! job_by_id {
    () => {
        concat!(
            "SELECT ",
            job_columns!(),
            " FROM jobs j JOIN tenants t ON t.id = j.tenant_id WHERE j.id = $1"
        )
    };
}

/// Outbox events due for delivery at `$1`, oldest due first, at most `$2` (the partial index
/// `outbox_pending`). Completed per backend (locking).
macro_rules! pending_events {
    () => {
        "SELECT id FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL \
         AND next_attempt_at <= $1 ORDER BY next_attempt_at, id LIMIT $2"
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
/// After a rate limit is set on tenant `$1`: its runs started after `$2` (the window's start)
/// count for it from now on (a range of `runs_started`).
pub const MARK_RATE_COUNTED: &str = "UPDATE runs SET rate_counted = TRUE \
     WHERE started_at > $2 AND tenant_id = $1 AND NOT rate_counted";
/// Replaces the tenant's policy (rate limit and job defaults; `NULL` clears a value).
pub const SET_TENANT_POLICY: &str = concat!(
    "UPDATE tenants SET rate_limit_count = $2, rate_limit_window_ms = $3, \
     default_max_retries = $4, default_auto_disable_after = $5, updated_at = $6 \
     WHERE name = $1 RETURNING ",
    tenant_columns!()
);
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

pub const INSERT_JOB: &str = concat!(
    "INSERT INTO jobs (id, tenant_id, name, schedule, timezone, handler, payload, timeout_ms, \
     enabled, consecutive_failures, next_run_at, created_at, updated_at, version, ",
    policy_column_names!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, TRUE, 0, $9, $10, $10, 1, \
     $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)"
);
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
/// Replaces the job's policies, with the same optimistic check as [`UPDATE_JOB`]; binds the
/// columns of `policy_column_names!` in order from `$3`.
pub const UPDATE_JOB_POLICY: &str = "UPDATE jobs SET max_retries = $3, retry_backoff = $4, \
     retry_initial_ms = $5, retry_multiplier = $6, retry_max_ms = $7, retry_jitter = $8, \
     overlap = $9, missed = $10, missed_max_runs = $11, catch_up_window_ms = $12, \
     auto_disable_after = $13, probation = $14, jitter_window_ms = $15, \
     exclude_calendars = $16, only_calendar = $17, on_excluded = $18, updated_at = $19, \
     version = version + 1 WHERE id = $1 AND version = $2";
/// Pauses (`$2` true) or resumes a job. The pause's start and end are kept: the tick labels the
/// occurrences in between as missed because the job was paused. (`SET` expressions read the row
/// as it was, on both backends.)
pub const SET_JOB_PAUSED: &str = "UPDATE jobs SET paused = $2, \
     paused_at = CASE WHEN $2 AND NOT paused THEN $3 ELSE paused_at END, \
     resumed_at = CASE WHEN NOT $2 AND paused THEN $3 ELSE resumed_at END, \
     updated_at = $3, version = version + 1 WHERE id = $1";
/// Re-enables a disabled job: forgets its failure streak, records who did it, puts it on
/// probation if asked, and restarts its schedule from `$4` (computed from now, so the time it
/// was disabled causes no burst). Matches nothing if the job is enabled already.
pub const ENABLE_JOB: &str =
    "UPDATE jobs SET enabled = TRUE, disabled_by = NULL, disabled_reason = NULL, \
     consecutive_failures = 0, enabled_by = $2, on_probation = $3, next_run_at = $4, \
     updated_at = $5, version = version + 1 WHERE id = $1 AND NOT enabled \
     RETURNING tenant_id, name";
/// Enabling a job again also forgets its failure streak (it was usually disabled because of it).
pub const SET_JOB_ENABLED: &str = "UPDATE jobs SET enabled = $2, disabled_reason = $3, \
     disabled_by = CASE WHEN $2 THEN NULL ELSE 'person' END, \
     next_run_at = $4, updated_at = $5, version = version + 1, \
     consecutive_failures = CASE WHEN $2 THEN 0 ELSE consecutive_failures END WHERE id = $1";
pub const NEXT_DUE_AT: &str = "SELECT MIN(next_run_at) FROM jobs WHERE enabled AND NOT paused";

// Bulk actions over many jobs: one `UPDATE jobs SET <change> FROM <rows> WHERE <match>`
// statement each, the rows being the dialect's `BULK_JOB_ROWS` (the jobs and the versions they
// were read at, from one JSON parameter `$1`). `$2` is now; `$3` the operator or the reason.
// `jobs.version` is written out: the rows have a `version` column too.

/// A bulk change's `WHERE` and what it returns: each job only at the version it was read at.
pub const BULK_JOBS_MATCH: &str =
    " WHERE jobs.id = v.id AND jobs.version = v.version RETURNING jobs.id";
/// Pauses: as [`SET_JOB_PAUSED`] does for one job.
pub const BULK_PAUSE_SET: &str =
    "UPDATE jobs SET paused = TRUE, paused_at = $2, updated_at = $2, version = jobs.version + 1";
pub const BULK_RESUME_SET: &str =
    "UPDATE jobs SET paused = FALSE, resumed_at = $2, updated_at = $2, version = jobs.version + 1";
/// Disables, as a person (`$3`: the reason people read); the next run instant stays.
pub const BULK_DISABLE_SET: &str = "UPDATE jobs SET enabled = FALSE, disabled_by = 'person', \
     disabled_reason = $3, updated_at = $2, version = jobs.version + 1";
/// Enables again, as [`ENABLE_JOB`] does for one job (`$3`: who); each job's next run instant
/// and probation come with its row.
pub const BULK_ENABLE_SET: &str = "UPDATE jobs SET enabled = TRUE, disabled_by = NULL, \
     disabled_reason = NULL, consecutive_failures = 0, enabled_by = $3, \
     on_probation = v.probation, next_run_at = v.next_run_at, updated_at = $2, \
     version = jobs.version + 1";

// The tick.

/// Head of the batched insert of scheduled occurrences (queued runs, and occurrences recorded
/// as skipped or missed); the builder appends `VALUES (...), ...` with the columns in this
/// order, then [`ON_OCCURRENCE_CONFLICT`].
pub const INSERT_RUNS: &str = "INSERT INTO runs (id, job_id, tenant_id, scheduled_at, trigger, \
     attempt, status, queued_at, not_before, finished_at, reason, waited_for) ";
/// Overlap `cancel_previous`, step 1: the job's queued runs are cancelled with reason `$3`.
pub const SUPERSEDE_QUEUED: &str = "UPDATE runs SET status = 'cancelled', finished_at = $2, \
     reason = $3 WHERE job_id = $1 AND status = 'queued'";
/// Overlap `cancel_previous`, step 2: the job's running runs are asked to stop; their nodes see
/// the flag when they renew their leases ([`CANCEL_REQUESTED_RUNS`]).
pub const REQUEST_CANCEL: &str = "UPDATE runs SET cancel_requested = TRUE, reason = $2 \
     WHERE tenant_id = (SELECT tenant_id FROM jobs WHERE id = $1) AND job_id = $1 \
     AND status = 'running' AND NOT cancel_requested";
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
/// Any run, a test run too.
pub const RUN_BY_ID: &str =
    concat!("SELECT ", run_columns!(), from_runs_and_tests!(), " WHERE r.id = $1");
/// A test run (trigger `test`, no job) of tenant `$2`: definition `$3`, its payload `$4`,
/// queued and ready at `$5`. It is queued like any run, so the tenant's concurrency and rate
/// limits and its pause hold it back like the tenant's other work.
pub const INSERT_TEST_RUN: &str = "INSERT INTO runs (id, job_id, tenant_id, scheduled_at, \
     trigger, attempt, status, payload, queued_at, not_before, definition) \
     VALUES ($1, NULL, $2, $5, 'test', 1, 'queued', $4, $5, $5, $3)";
/// A run of attempt 1; `ON CONFLICT` reports a taken occurrence as 0 rows instead of an error.
pub const INSERT_RUN: &str = "INSERT INTO runs (id, job_id, tenant_id, scheduled_at, trigger, \
     attempt, status, payload, queued_at, not_before) \
     VALUES ($1, $2, $3, $4, $5, 1, 'queued', $6, $7, $7) \
     ON CONFLICT (job_id, scheduled_at, attempt) DO NOTHING";
/// The next attempt of run `$5` (same job, occurrence and payload), with trigger `$2`, queued at
/// `$3` and ready at `$4`; none for a run that was asked to stop (a newer occurrence replaced
/// it), and none for a test run (run once: never retried, never recovered). (SQLite needs the
/// `WHERE` to parse `INSERT ... SELECT ... ON CONFLICT`; it is there anyway.)
pub const INSERT_NEXT_ATTEMPT: &str = "INSERT INTO runs (id, job_id, tenant_id, scheduled_at, \
     trigger, attempt, status, payload, queued_at, not_before) \
     SELECT $1, job_id, tenant_id, scheduled_at, $2, attempt + 1, 'queued', payload, $3, $4 \
     FROM runs WHERE id = $5 AND NOT cancel_requested AND job_id IS NOT NULL \
     ON CONFLICT (job_id, scheduled_at, attempt) DO NOTHING";
/// A backfill run (trigger `$7`, reason `$6`) of occurrence `$4` of job `$2`, queued and ready at
/// `$5`: attempt 1 if the occurrence has no row yet, the next attempt if its latest row says it
/// did not run (`missed` or `skipped`), nothing if it ran or is running. So a backfill repeated
/// over the same range adds nothing: idempotent through the occurrence key.
pub const BACKFILL_RUN: &str = "INSERT INTO runs (id, job_id, tenant_id, scheduled_at, trigger, \
     attempt, status, queued_at, not_before, reason) \
     SELECT $1, $2, $3, $4, $7, COALESCE(p.attempt, 0) + 1, 'queued', $5, $5, $6 \
     FROM (SELECT 1 AS one) AS o LEFT JOIN ( \
         SELECT attempt, status FROM runs WHERE job_id = $2 AND scheduled_at = $4 \
         ORDER BY attempt DESC LIMIT 1) AS p ON TRUE \
     WHERE p.attempt IS NULL OR p.status IN ('missed', 'skipped') \
     ON CONFLICT (job_id, scheduled_at, attempt) DO NOTHING";
/// Retention, one batch: up to `$3` finished runs scheduled before `$1`, oldest first, each
/// only if its job has at least `$2` newer runs (so the last `$2` of every job stay). Each
/// candidate costs at most `$2` steps of the occurrence key's index. Test runs (no job) go by
/// age alone.
pub const PRUNE_RUNS: &str = "DELETE FROM runs WHERE id IN ( \
     SELECT r.id FROM runs r \
     WHERE r.scheduled_at < $1 AND r.status NOT IN ('queued', 'running') \
       AND (r.job_id IS NULL OR (SELECT count(*) FROM ( \
              SELECT 1 FROM runs n WHERE n.job_id = r.job_id \
                AND (n.scheduled_at > r.scheduled_at \
                     OR (n.scheduled_at = r.scheduled_at AND n.attempt > r.attempt)) \
              LIMIT $2) AS newer) >= $2) \
     ORDER BY r.scheduled_at, r.id LIMIT $3)";
/// Outbox events settled (delivered or given up on) before `$1`, oldest first, `$2` at a time
/// (through the expression index `outbox_settled`).
pub const PRUNE_OUTBOX: &str = "DELETE FROM outbox WHERE id IN ( \
     SELECT id FROM outbox WHERE (delivered_at IS NOT NULL OR failed_at IS NOT NULL) \
       AND COALESCE(delivered_at, failed_at) < $1 \
     ORDER BY COALESCE(delivered_at, failed_at) LIMIT $2)";
/// Delivery attempts logged before `$1`, except those of events still being delivered (their
/// history explains the next attempt), oldest first, `$2` at a time.
pub const PRUNE_DELIVERIES: &str = "DELETE FROM deliveries WHERE id IN ( \
     SELECT d.id FROM deliveries d WHERE d.at < $1 \
       AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = d.event_id \
                         AND o.delivered_at IS NULL AND o.failed_at IS NULL) \
     ORDER BY d.at LIMIT $2)";
/// The earliest instant a queued run of a tenant that is not paused becomes ready: one probe
/// of `runs_queued_by_tenant` per tenant.
pub const NEXT_READY_AT: &str = "SELECT MIN((SELECT q.not_before FROM runs q \
     WHERE q.tenant_id = t.id AND q.status = 'queued' ORDER BY q.not_before LIMIT 1)) \
     FROM tenants t WHERE NOT t.paused";
/// Whether a claim at `$1` could take a run ready by `$2` right now: a tenant that is not
/// paused, with room under `max_concurrent` and its rate limit, has a run the claim would take
/// (the first of [`ready_runs!`], which passes over a run of an exclusive job while another run
/// of that job is running). When a claim took nothing although this holds, another node's
/// claim held those tenants' rows (`SKIP LOCKED`) for a few milliseconds; when it does not
/// hold, every ready run waits for a limit or a running run to end. The probes are correlated
/// scalar subqueries, which Postgres never turns into a join over the whole queue (see
/// `eligible_tenants!`); the first tenant that qualifies ends the scan.
pub const CLAIMABLE_NOW: &str = concat!(
    "SELECT EXISTS (SELECT 1 FROM tenants t WHERE NOT t.paused AND ",
    tenant_has_room!("$1"),
    " AND (SELECT count(*) FROM (",
    ready_runs!("t.id", "$2", "1"),
    ") AS first_ready) > 0) AS claimable"
);

/// The earliest lease expiry among running runs (a scan of the running set, `runs_running`).
pub const NEXT_LEASE_EXPIRY: &str =
    "SELECT MIN(lease_expires_at) FROM runs WHERE status = 'running'";

/// [`COMPLETE_RUNS_HEAD`] after `UPDATE ` (SQLite's hot path puts `OR FAIL` in between).
macro_rules! complete_runs_set {
    () => {
        "runs SET status = v.column4, finished_at = v.column5, \
         duration_ms = v.column6, exit_code = v.column7, http_status = v.column8, \
         output = v.column9, error = v.column10, lease_expires_at = NULL FROM ("
    };
}

/// The claimed run's result is accepted only if it is still running under the same claim: the
/// same node and the same fencing token. A claim that was superseded (the lease expired and the
/// run was recovered, then maybe claimed again) matches no row. `lease_owner` stays: it tells
/// people which node ran the run (every statement that reads it for leases also requires
/// `status = 'running'`).
///
/// Results are recorded in batches: the builder appends `VALUES (id, node, fencing token, status,
/// finished, duration, exit code, HTTP status, output, error), ...` and then
/// [`COMPLETE_RUNS_TAIL`]; the rows returned are the accepted results, each with its job (NULL
/// for a test run, whose result touches no job).
pub const COMPLETE_RUNS_HEAD: &str = concat!("UPDATE ", complete_runs_set!());
pub const COMPLETE_RUNS_TAIL: &str = ") AS v WHERE runs.id = v.column1 \
     AND runs.status = 'running' AND runs.lease_owner = v.column2 \
     AND runs.fencing_token = v.column3 RETURNING runs.id, runs.job_id";
/// The recorded outcome and claim of runs `($1, ...)`, appended by the caller: tells a result
/// recorded already by the same claim from one that was fenced out.
pub const RUN_OUTCOMES: &str = "SELECT id, status, finished_at, lease_owner, fencing_token \
     FROM runs WHERE id IN ";
/// [`JOBS_SUCCEEDED_HEAD`] after `UPDATE ` (SQLite's hot path puts `OR FAIL` in between).
macro_rules! jobs_succeeded_set {
    () => {
        "jobs SET last_run_at = CASE \
         WHEN jobs.last_run_at IS NULL OR jobs.last_run_at < v.column2 THEN v.column2 \
         ELSE jobs.last_run_at END, consecutive_failures = 0, on_probation = FALSE FROM ("
    };
}
/// [`JOB_SUCCEEDED`] for a batch of jobs whose results all succeeded: `VALUES (job, latest
/// finish), ...` between head and tail.
pub const JOBS_SUCCEEDED_HEAD: &str = concat!("UPDATE ", jobs_succeeded_set!());
pub const JOBS_SUCCEEDED_TAIL: &str = ") AS v WHERE jobs.id = v.column1";
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
/// A success ends the streak and the probation.
pub const JOB_SUCCEEDED: &str = job_finished!(", consecutive_failures = 0, on_probation = FALSE");
/// A failed occurrence (retries exhausted): `$3` is its error.
pub const JOB_FAILED: &str =
    job_finished!(", consecutive_failures = consecutive_failures + 1, last_error = $3");
/// After [`JOB_FAILED`], in the same transaction, when the job's policy says the failure
/// disables it (`JobPolicy::auto_disable_threshold`, decided by the store on the row this
/// transaction locked): disables the job (reason `$3`). `AND enabled` under the row lock that
/// [`JOB_FAILED`] took makes the transition happen once, however many nodes record failures of
/// the job at once: the caller writes the outbox event only when this returns a row.
pub const AUTO_DISABLE_JOB: &str = "UPDATE jobs SET enabled = FALSE, disabled_by = 'engine', \
     disabled_reason = $3, updated_at = $2, version = version + 1 WHERE id = $1 AND enabled \
     RETURNING tenant_id, name, consecutive_failures, on_probation, last_error";
/// Cancelled, or failed with a retry planned: the streak waits for the final outcome.
pub const JOB_FINISHED: &str = job_finished!("");

/// The running runs of node `$1`. Completed per backend (locking).
macro_rules! leases_of_node {
    () => {
        "SELECT id FROM runs WHERE status = 'running' AND lease_owner = $1"
    };
}

/// Renews the leases of the listed runs (`$3, ...`, appended with the dialect's tail) that
/// node `$1` still owns, to `$2`.
pub const RENEW_LEASES_HEAD: &str = concat!(
    "UPDATE runs SET lease_expires_at = $2 WHERE id IN (",
    leases_of_node!(),
    " AND id IN "
);

/// Running runs whose lease expired before `$1`, in a fixed order. Bounded so that one reap
/// after a long outage stays one short transaction; the engine reaps again at its next period.
/// Completed per backend (locking).
macro_rules! expired_leases {
    () => {
        "SELECT id FROM runs WHERE status = 'running' AND lease_expires_at < $1 \
         ORDER BY lease_expires_at, id LIMIT 500"
    };
}
/// The running runs of node `$1` whose cancellation was requested (overlap `cancel_previous`).
pub const CANCEL_REQUESTED_RUNS: &str =
    "SELECT id FROM runs WHERE status = 'running' AND lease_owner = $1 AND cancel_requested";

/// Re-checks the expiry: a node that renewed in the meantime keeps its run. (The `SET`
/// expressions read the row as it was, so the error names the owner before it is cleared.)
pub const MARK_LOST: &str = "UPDATE runs SET status = 'lost', finished_at = $2, \
     duration_ms = $2 - started_at, \
     error = 'lease expired: node ' || lease_owner || ' stopped renewing', \
     lease_owner = NULL, lease_expires_at = NULL \
     WHERE id = $1 AND status = 'running' AND lease_expires_at < $2";
/// Hands node `$1`'s running runs back to the queue, except those asked to stop (a newer
/// occurrence replaced them): they end `cancelled` at `$2`. (`SET` expressions read the row as
/// it was.)
/// A restarted node with the same id: the runs its previous incarnation held can never finish,
/// so their leases end now and the reaper recovers them like any dead node's.
pub const EXPIRE_LEASES_OF_NODE: &str = "UPDATE runs SET lease_expires_at = $2 \
     WHERE status = 'running' AND lease_owner = $1";

pub const RELEASE: &str = "UPDATE runs SET \
     status = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'queued' END, \
     started_at = CASE WHEN cancel_requested THEN started_at END, \
     finished_at = CASE WHEN cancel_requested THEN $2 END, \
     lease_owner = NULL, lease_expires_at = NULL WHERE status = 'running' AND lease_owner = $1";

// The outbox.

macro_rules! outbox_columns {
    () => {
        "id, type, tenant_id, job_id, occurred_at, data, created_at, delivered_at"
    };
}
/// A new event is due for delivery at once (`next_attempt_at` = its creation).
pub const INSERT_OUTBOX: &str = concat!(
    "INSERT INTO outbox (",
    outbox_columns!(),
    ", next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $7)"
);
/// Head of a batched insert of outbox events, due at once; the builder appends `VALUES (...), ...`
/// with the columns in this order.
pub const INSERT_OUTBOX_HEAD: &str = "INSERT INTO outbox (id, type, tenant_id, job_id, \
     occurred_at, data, created_at, next_attempt_at) ";
/// Oldest first, up to `$1` events.
pub const LIST_OUTBOX: &str =
    concat!("SELECT ", outbox_columns!(), " FROM outbox ORDER BY created_at, id LIMIT $1");

// Nodes.

pub const REGISTER_NODE: &str = concat!(
    "INSERT INTO nodes (",
    node_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
     ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, \
     version = excluded.version, workers = excluded.workers, started_at = excluded.started_at, \
     heartbeat_at = excluded.heartbeat_at, stopped_at = excluded.stopped_at, \
     health = excluded.health"
);
/// The heartbeat, with what the node says about itself (`$3`, JSON).
pub const HEARTBEAT: &str = "UPDATE nodes SET heartbeat_at = $2, health = $3 WHERE id = $1";
pub const MARK_NODE_STOPPED: &str = "UPDATE nodes SET stopped_at = $2 WHERE id = $1";
pub const LIST_NODES: &str =
    concat!("SELECT ", node_columns!(), " FROM nodes ORDER BY started_at DESC, id");

/// Events neither delivered nor given up on: a bounded scan of the `outbox_pending` index.
pub const OUTBOX_BACKLOG: &str =
    "SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND failed_at IS NULL";

/// The migrations a database applied (sqlx's bookkeeping).
pub const APPLIED_MIGRATIONS: &str =
    "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";

/// Statements for Postgres only.
// The console's views.
/// Tenants with live counts. Each count is a bounded scan of an index: `jobs (tenant_id, name)`,
/// the partial indexes on running and queued runs, and `runs_failures_by_tenant` for recent
/// failures, whose condition is written here in the words of its definition (SQLite uses a
/// partial index only for a query that states its condition; migration 0017 wrote it as
/// comparisons). `$1`: failures count from this instant. Running and queued runs include test
/// runs (they take the tenant's slots); failures do not (a failing test run is its author's
/// draft, not a failure of the tenant's jobs).
pub const TENANT_OVERVIEW: &str = concat!(
    "SELECT ",
    tenant_columns!(),
    ", (SELECT COUNT(*) FROM jobs j WHERE j.tenant_id = tenants.id) AS jobs, \
     (SELECT COUNT(*) FROM jobs j WHERE j.tenant_id = tenants.id AND NOT j.enabled \
        AND j.disabled_by = 'engine') AS auto_disabled_jobs, \
     (SELECT COUNT(*) FROM runs r WHERE r.tenant_id = tenants.id AND r.status = 'running') AS running, \
     (SELECT COUNT(*) FROM runs r WHERE r.tenant_id = tenants.id AND r.status = 'queued') AS queued, \
     (SELECT COUNT(*) FROM runs r WHERE r.tenant_id = tenants.id \
        AND (r.status = 'failed' OR r.status = 'timed_out' OR r.status = 'lost') \
        AND r.finished_at >= $1 \
        AND r.job_id IS NOT NULL) AS failed_since \
     FROM tenants ORDER BY name"
);
/// The job page's count; the store appends the same filters as to [`SELECT_JOBS`].
pub const COUNT_JOBS: &str =
    "SELECT COUNT(*) AS total FROM jobs j JOIN tenants t ON t.id = j.tenant_id";

// Tenant settings (channels and command defaults), named handler listing, job deletion.

/// Columns of a tenant's settings, as [`super::codec::tenant_settings`] reads them.
macro_rules! tenant_settings_columns {
    () => {
        "webhook_url, webhook_secret, notify_email, command_limits, run_as, work_dir, \
         notify_run_failed, notify_throttled"
    };
}
pub const TENANT_SETTINGS: &str =
    concat!("SELECT ", tenant_settings_columns!(), " FROM tenants WHERE name = $1");
/// Each field has a flag: `$N` true writes the value `$N+1` (which may be NULL, clearing the
/// field); false leaves the field as it is.
pub const UPDATE_TENANT_SETTINGS: &str = concat!(
    "UPDATE tenants SET \
     webhook_url = CASE WHEN $2 THEN $3 ELSE webhook_url END, \
     webhook_secret = CASE WHEN $4 THEN $5 ELSE webhook_secret END, \
     notify_email = CASE WHEN $6 THEN $7 ELSE notify_email END, \
     command_limits = CASE WHEN $8 THEN $9 ELSE command_limits END, \
     run_as = CASE WHEN $10 THEN $11 ELSE run_as END, \
     work_dir = CASE WHEN $12 THEN $13 ELSE work_dir END, \
     updated_at = $14, notify_run_failed = COALESCE($15, notify_run_failed), \
     notify_throttled = COALESCE($16, notify_throttled) WHERE name = $1 RETURNING ",
    tenant_settings_columns!()
);
pub const LIST_NAMED_HANDLERS: &str = "SELECT name, spec FROM named_handlers ORDER BY name";
/// Runs of the job go with it (`ON DELETE CASCADE`).
pub const DELETE_JOB: &str = "DELETE FROM jobs WHERE id = $1";

// The console's run views: run details, the timeline, throughput and the change
// feed. See `crate::timeline` for what each answers; every statement reads indexes and is
// bounded.

/// Columns of a run as a timeline draws it (alias `r`, joined with `j` and `t`).
macro_rules! span_columns {
    () => {
        "r.id, r.job_id, j.name AS job, r.tenant_id, t.name AS tenant, r.scheduled_at, \
         r.not_before, r.trigger, r.attempt, r.status, r.started_at, r.finished_at"
    };
}

/// Every attempt of one occurrence (job `$1`, instant `$2`), first attempt first: a range of
/// the occurrence key's unique index.
pub const OCCURRENCE_RUNS: &str = concat!(
    "SELECT ",
    run_columns!(),
    from_runs!(),
    " WHERE r.job_id = $1 AND r.scheduled_at = $2 ORDER BY r.attempt"
);

/// The runs of a window `[$2, $3)`, earliest occurrence first, at most `$6`: runs that started
/// in it or up to the lookback before it (`$1`) and were still running at `$2`
/// (`runs_started`); runs running since before the lookback (a partial index); queued runs ready
/// before its end (`runs_queued_by_tenant`: a waiting run is drawn until now); and occurrences in it
/// that never started (`runs_recent`). `$4` narrows to a tenant (by name), `$5` to a job (NULL:
/// all). The branches are disjoint, and each is one index range.
pub const RUN_SPANS: &str = concat!(
    "SELECT ",
    span_columns!(),
    " FROM ( \
         SELECT id FROM runs WHERE started_at >= $1 AND started_at < $3 \
             AND (finished_at IS NULL OR finished_at >= $2) \
         UNION ALL SELECT id FROM runs WHERE status = 'running' AND started_at < $1 \
         UNION ALL SELECT id FROM runs WHERE status = 'queued' AND not_before < $3 \
         UNION ALL SELECT id FROM runs WHERE scheduled_at >= $2 AND scheduled_at < $3 \
             AND started_at IS NULL AND status <> 'queued' \
     ) AS w JOIN runs r ON r.id = w.id JOIN jobs j ON j.id = r.job_id \
     JOIN tenants t ON t.id = r.tenant_id \
     WHERE ($4 IS NULL OR t.name = $4) AND ($5 IS NULL OR r.job_id = $5) \
     ORDER BY r.scheduled_at, r.attempt, r.id LIMIT $6"
);

/// The change feed: runs created since `$1` (the first id of an instant: ids are time-ordered),
/// started since `$2` (`runs_started`) and finished since `$2` (`runs_finished`), oldest first,
/// at most `$3`. Three index ranges as long as the activity since the cursor, whatever the
/// number of runs stored or running.
pub const CHANGED_RUNS: &str = concat!(
    "SELECT ",
    span_columns!(),
    " FROM ( \
         SELECT id FROM runs WHERE id >= $1 \
         UNION SELECT id FROM runs WHERE started_at >= $2 \
         UNION SELECT id FROM runs WHERE finished_at >= $2 \
     ) AS w JOIN runs r ON r.id = w.id JOIN jobs j ON j.id = r.job_id \
     JOIN tenants t ON t.id = r.tenant_id \
     ORDER BY r.id LIMIT $3"
);

/// One run as a span, by id.
pub const RUN_SPAN_BY_ID: &str =
    concat!("SELECT ", span_columns!(), from_runs!(), " WHERE r.id = $1");

/// Runs started in `[$1, $2)` grouped in buckets of `$3` ms from `$1` (`runs_started`):
/// how many, how many failed, and the lateness (started minus scheduled) of scheduled first
/// attempts. `AVG` is cast because Postgres averages BIGINTs as NUMERIC.
pub const RUN_BUCKETS: &str = "SELECT (r.started_at - $1) / $3 AS bucket, COUNT(*) AS started, \
     SUM(CASE WHEN r.status IN ('failed', 'timed_out', 'lost') THEN 1 ELSE 0 END) AS failed, \
     CAST(AVG(CASE WHEN r.attempt = 1 AND r.trigger = 'schedule' \
                   THEN r.started_at - r.scheduled_at END) AS DOUBLE PRECISION) AS late_avg_ms, \
     MAX(CASE WHEN r.attempt = 1 AND r.trigger = 'schedule' \
              THEN r.started_at - r.scheduled_at END) AS late_max_ms \
     FROM runs r WHERE r.started_at >= $1 AND r.started_at < $2 GROUP BY 1 ORDER BY 1";

/// The average duration of each job's successful runs started since `$1` (`runs_started`: one
/// range over the recent runs, whatever the number of jobs); test runs are no job's.
pub const AVERAGE_DURATIONS: &str = "SELECT job_id, \
     CAST(AVG(duration_ms) AS DOUBLE PRECISION) AS avg_ms FROM runs \
     WHERE started_at >= $1 AND status = 'succeeded' AND duration_ms IS NOT NULL \
       AND job_id IS NOT NULL GROUP BY job_id";

/// Enabled, unpaused jobs of unpaused tenants whose next run is before `$1`, soonest first, at
/// most `$4` (the partial index `jobs_due`); `$2` narrows to a tenant, `$3` to a job (NULL:
/// all). A paused tenant's jobs are left out: none of their runs would start.
pub const JOBS_DUE_BEFORE: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM jobs j JOIN tenants t ON t.id = j.tenant_id \
     WHERE j.enabled AND NOT j.paused AND NOT t.paused AND j.next_run_at < $1 \
       AND ($2 IS NULL OR t.name = $2) AND ($3 IS NULL OR j.id = $3) \
     ORDER BY j.next_run_at, j.id LIMIT $4"
);

/// Running runs per node (a partial index on running runs).
pub const RUNNING_BY_NODE: &str = "SELECT lease_owner, COUNT(*) AS running FROM runs \
     WHERE status = 'running' AND lease_owner IS NOT NULL GROUP BY lease_owner";

/// What moves when something other than a run changes: the latest job edit (`jobs_updated`),
/// tenant edit and node heartbeat (small tables).
pub const CHANGE_MARKS: &str = "SELECT (SELECT MAX(updated_at) FROM jobs) AS jobs, \
     (SELECT MAX(updated_at) FROM tenants) AS tenants, \
     (SELECT MAX(heartbeat_at) FROM nodes) AS nodes, \
     (SELECT COUNT(*) FROM nodes) AS node_count";

// Notifications and the audit log.

/// Claim, step 2: count the attempt and hold the events until `$2` (the lease's end) for node
/// `$1`; the caller appends the ids `($3, $4, ...)` from step 1 (`pending_events!`).
pub const CLAIM_EVENTS: &str = "UPDATE outbox SET attempts = attempts + 1, claimed_by = $1, \
     next_attempt_at = $2 WHERE delivered_at IS NULL AND failed_at IS NULL AND id IN ";
/// Claim, step 3: the claimed events with their tenant's channels, and which channels an
/// earlier attempt delivered (`deliveries_by_event`); the caller appends the ids `($1, ...)`.
pub const CLAIMED_EVENTS: &str =
    "SELECT o.id, o.type, o.tenant_id, o.job_id, o.occurred_at, o.data, o.created_at, \
     o.delivered_at, o.attempts, t.name AS tenant, j.name AS job, t.webhook_url, \
     t.webhook_secret, t.notify_email, \
     EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = o.id AND d.channel = 'webhook' \
             AND d.status = 'delivered') AS webhook_done, \
     EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = o.id AND d.channel = 'email' \
             AND d.status = 'delivered') AS email_done \
     FROM outbox o LEFT JOIN tenants t ON t.id = o.tenant_id LEFT JOIN jobs j ON j.id = o.job_id \
     WHERE o.id IN ";
/// One delivery attempt of event `$2` (its tenant and type copied from the outbox row). Binds:
/// `$1` id, `$3` channel, `$4` target, `$5` attempt, `$6` status, `$7` HTTP status, `$8` SMTP
/// reply, `$9` error, `$10` node, `$11` at, `$12` duration, `$13` next attempt.
pub const INSERT_DELIVERY: &str = "INSERT INTO deliveries (id, event_id, tenant_id, event_type, \
     channel, target, attempt, status, http_status, smtp_reply, error, node, at, duration_ms, \
     next_attempt_at) SELECT $1, o.id, o.tenant_id, o.type, $3, $4, $5, $6, $7, $8, $9, $10, \
     $11, $12, $13 FROM outbox o WHERE o.id = $2";
/// Ends node `$2`'s claim `$3` of event `$1`: delivered at `$4`, given up at `$5`, or due again
/// at `$6`. Matches nothing when the claim was taken over (the lease ran out and another node
/// claimed the event): that node reports instead.
pub const FINISH_EVENT: &str = "UPDATE outbox SET claimed_by = NULL, delivered_at = $4, \
     failed_at = $5, next_attempt_at = COALESCE($6, next_attempt_at) \
     WHERE id = $1 AND claimed_by = $2 AND attempts = $3 \
     AND delivered_at IS NULL AND failed_at IS NULL";
/// The delivery log with the tenant's name; the store appends filters and the order.
pub const SELECT_DELIVERIES: &str = "SELECT d.id, d.event_id, d.tenant_id, t.name AS tenant, \
     d.event_type, d.channel, d.target, d.attempt, d.status, d.http_status, d.smtp_reply, \
     d.error, d.node, d.at, d.duration_ms, d.next_attempt_at \
     FROM deliveries d LEFT JOIN tenants t ON t.id = d.tenant_id";

/// After a claim started runs, in its transaction (under the tenants' row locks on Postgres,
/// the write lock on SQLite): of the tenants the caller lists (`($2, ...)`, appended), those
/// that opted in, whose ready runs the rate limit now holds back (no room left in the window
/// and a queued run ready at `$1`), and that were not told so within the last window, are
/// marked told at `$1`; the caller writes one `tenant.throttled` event for each row returned.
/// The `UPDATE ... WHERE` under the row lock makes it once per window whatever the number of
/// nodes. (A tenant whose rate room is used up is not served until the window frees room, so
/// runs queued meanwhile are reported at its next claim that leaves runs behind.)
pub const MARK_THROTTLED: &str = concat!(
    "UPDATE tenants SET throttled_notified_at = $1 \
     WHERE notify_throttled AND rate_limit_count IS NOT NULL \
       AND (throttled_notified_at IS NULL OR throttled_notified_at <= $1 - rate_limit_window_ms) \
       AND ",
    rate_room_of!("tenants", "$1"),
    " <= 0 \
       AND (SELECT q.not_before FROM runs q WHERE q.tenant_id = tenants.id \
            AND q.status = 'queued' ORDER BY q.not_before LIMIT 1) <= $1 \
       AND id IN "
);
/// The columns [`MARK_THROTTLED`] returns (appended after its id list).
pub const MARK_THROTTLED_RETURNING: &str =
    " RETURNING id, name, rate_limit_count, rate_limit_window_ms";

/// A failed occurrence's run `$1` of job `$2`, if its tenant opted in to `run.failed`.
pub const RUN_FAILED_EVENT: &str = "SELECT j.name, r.tenant_id, r.attempt, r.scheduled_at, \
     r.trigger FROM runs r JOIN jobs j ON j.id = r.job_id JOIN tenants t ON t.id = r.tenant_id \
     WHERE r.id = $1 AND j.id = $2 AND t.notify_run_failed";

/// Tenant `$1`'s id and name with its settings, before a change of them. Completed per backend
/// (locking).
macro_rules! tenant_settings_by_name {
    () => {
        concat!("SELECT id, name, ", tenant_settings_columns!(), " FROM tenants WHERE name = $1")
    };
}

macro_rules! audit_columns {
    () => {
        "id, at, operator, action, tenant_id, tenant, job_id, job, handler, before, after"
    };
}
pub const INSERT_AUDIT: &str = concat!(
    "INSERT INTO audit_log (",
    audit_columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
);
/// Head of a batched insert of audit entries; the builder appends `VALUES (...), ...` with the
/// columns in this order.
pub const INSERT_AUDIT_HEAD: &str = concat!("INSERT INTO audit_log (", audit_columns!(), ") ");
/// The audit log; the store appends filters and the order (`audit_recent`, `audit_by_tenant`,
/// `audit_by_job`).
pub const SELECT_AUDIT: &str =
    concat!("SELECT ", audit_columns!(), ", display_name FROM audit_log");

// Calendars (the statements are below; the per-dialect locks read the same columns).
macro_rules! calendar_select {
    () => {
        "SELECT c.id, c.tenant_id, t.name AS tenant, c.name, c.source, c.created_at, \
         c.updated_at, c.version FROM calendars c LEFT JOIN tenants t ON t.id = c.tenant_id"
    };
}

/// Statements for Postgres only.
pub mod postgres;

/// Statements for SQLite only.
pub mod sqlite;

// Calendars.

pub const INSERT_CALENDAR: &str = "INSERT INTO calendars (id, tenant_id, name, source, \
     created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $5, 1)";
pub const UPDATE_CALENDAR: &str = "UPDATE calendars SET source = $2, updated_at = $3, \
     version = version + 1 WHERE id = $1";
pub const DELETE_CALENDAR: &str = "DELETE FROM calendars WHERE id = $1";
pub const CALENDAR_BY_ID: &str = concat!(calendar_select!(), " WHERE c.id = $1");
/// `IS NOT DISTINCT FROM`: a `NULL` tenant names the shared calendars (both backends).
pub const CALENDAR_NAMED: &str =
    concat!(calendar_select!(), " WHERE c.tenant_id IS NOT DISTINCT FROM $1 AND c.name = $2");
pub const CALENDARS_OF_TENANT: &str = concat!(
    calendar_select!(),
    " WHERE c.tenant_id = $1 OR c.tenant_id IS NULL \
     ORDER BY c.tenant_id IS NOT NULL, c.name"
);
pub const LIST_CALENDARS: &str =
    concat!(calendar_select!(), " ORDER BY c.tenant_id IS NOT NULL, t.name, c.name");
pub const CALENDAR_VERSIONS: &str = "SELECT id, tenant_id, name, version FROM calendars";
/// Only earlier, and only for an enabled job: the tick's own update (under its row lock) never
/// goes backwards past a slot it already wrote.
pub const BRING_NEXT_RUN_FORWARD: &str = "UPDATE jobs SET next_run_at = $2 \
     WHERE id = $1 AND enabled AND (next_run_at IS NULL OR next_run_at > $2)";
/// Jobs (of tenant `$1`, or every tenant for `NULL`) whose only-calendar is `$2` or whose
/// excluded calendars' JSON text contains `$3` (a `LIKE` pattern of the quoted name; callers
/// check the list itself).
pub const JOBS_NAMING_CALENDAR: &str = concat!(
    "SELECT ",
    job_columns!(),
    " FROM jobs j JOIN tenants t ON t.id = j.tenant_id \
     WHERE ($1 IS NULL OR j.tenant_id = $1) \
     AND (j.only_calendar = $2 OR j.exclude_calendars LIKE $3 ESCAPE '\\')"
);
