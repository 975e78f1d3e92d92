//! The run queue: the engine's steps (tick, claim, record, leases and recovery).

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::engine::plan::{DueJob, TickPlan};
use crate::error::Result;
use crate::handler::HandlerSpec;
use crate::policy::RetryPolicy;
use crate::run::{Run, RunStatus};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Due jobs read and advanced.
    pub jobs: u64,
    /// Runs queued; an occurrence another node enqueued first is not counted.
    pub enqueued: u64,
    /// Occurrences recorded as `skipped` or `missed`.
    pub recorded: u64,
}

/// A run handed to a node by a claim, with everything needed to execute it.
#[derive(Debug, Clone)]
pub struct ClaimedRun {
    pub run: Run,
    pub handler: HandlerSpec,
    /// The job's payload; `run.payload` overrides it when set.
    pub job_payload: serde_json::Value,
    pub timeout: Duration,
    /// The retry policy in effect (the job's, with its tenant's default number of retries).
    pub retry: RetryPolicy,
    /// The tenant's signing secret and command defaults, for the executor.
    pub context: crate::handler::RunContext,
}

/// The result of executing a claimed run, to be recorded.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub run_id: Uuid,
    /// The node that executed it and the fencing token of its claim: a result from a node whose
    /// claim was superseded (its lease expired and the run was recovered) is discarded.
    pub node_id: String,
    pub fencing_token: i64,
    pub status: RunStatus,
    pub finished_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub exit_code: Option<i32>,
    pub http_status: Option<i32>,
    pub output: String,
    pub error: Option<String>,
    /// When set, a next attempt (trigger `retry`) is queued to start no earlier than this.
    pub retry_at: Option<DateTime<Utc>>,
}

/// How many ready runs to read per eligible tenant `(id, weight, room, rate room)`: its
/// weighted share of a claim of `limit` (weighted rounds until `limit` runs, if every tenant had
/// enough), never more than its rooms. Reading each tenant's whole room instead would read
/// `limit` runs per tenant to start `limit` in all. A tenant with less ready work than its share
/// leaves the claim short; both backends then widen once: the tenants that returned their whole
/// share may take up to their whole room. The Postgres claim computes the same shares in SQL
/// (`CLAIM_RUNS`).
pub(crate) fn claim_shares(eligible: &[EligibleTenant], limit: u32) -> Vec<i64> {
    let total_weight: usize = eligible.iter().map(|&(_, weight, ..)| weight).sum();
    let rounds = (limit as usize).div_ceil(total_weight.max(1));
    eligible
        .iter()
        .map(|&(_, weight, room, rate_room)| {
            let share = i64::try_from(weight * rounds).unwrap_or(i64::MAX);
            share.min(i64::from(limit)).min(room).min(rate_room.unwrap_or(i64::MAX)).max(0)
        })
        .collect()
}

/// The most runs a tenant may start in a claim of `limit`: the least of its rooms.
pub(crate) fn whole_room(&(_, _, room, rate_room): &EligibleTenant, limit: u32) -> i64 {
    i64::from(limit).min(room).min(rate_room.unwrap_or(i64::MAX)).max(0)
}

/// The claim's one widening (see [`claim_shares`]): the tenants that returned their whole
/// share may read up to their whole room. Whether any share grew, so a second read is due.
pub(crate) fn widen_shares(
    eligible: &[EligibleTenant],
    fetched: &[i64],
    shares: &mut [i64],
    limit: u32,
) -> bool {
    let mut widened = false;
    for (index, tenant) in eligible.iter().enumerate() {
        let room = whole_room(tenant, limit);
        if fetched[index] == shares[index] && shares[index] < room {
            shares[index] = room;
            widened = true;
        }
    }
    widened
}

/// Of the jobs whose runs finished (`(job id, index into results)`), those whose every result
/// here succeeded for good, with the latest finish in epoch milliseconds (sorted: one statement
/// records them all), and the jobs with any other result (recorded one by one).
pub(crate) fn split_successes(
    finished_jobs: &[(Uuid, usize)],
    results: &[RunResult],
) -> (Vec<(Uuid, i64)>, std::collections::HashSet<Uuid>) {
    let mut only_successes: std::collections::HashMap<Uuid, i64> = Default::default();
    let mut mixed: std::collections::HashSet<Uuid> = Default::default();
    for &(job_id, index) in finished_jobs {
        let result = &results[index];
        if result.status == crate::run::RunStatus::Succeeded && result.retry_at.is_none() {
            let last = only_successes.entry(job_id).or_insert(i64::MIN);
            *last = (*last).max(crate::store::codec::ms(result.finished_at));
        } else {
            mixed.insert(job_id);
        }
    }
    only_successes.retain(|job_id, _| !mixed.contains(job_id));
    let mut succeeded: Vec<(Uuid, i64)> = only_successes.into_iter().collect();
    succeeded.sort_unstable();
    (succeeded, mixed)
}

/// An eligible tenant: id, weight, room under `max_concurrent`, room under the rate limit.
pub(crate) type EligibleTenant = (Uuid, usize, i64, Option<i64>);

/// Results must be final before anything is written.
pub(crate) fn check_final(results: &[RunResult]) -> Result<()> {
    match results.iter().find(|result| !result.status.is_final()) {
        Some(result) => Err(crate::error::Error::invalid(
            "status",
            result.status,
            "a result must be final: succeeded, failed, timed_out, cancelled or lost",
        )),
        None => Ok(()),
    }
}

store_concern! {
    /// The run queue: the engine's steps (tick, claim, record, leases and recovery).
    pub trait RunQueue {
        /// Reads up to `limit` enabled, unpaused jobs with `next_run_at <= due_until` (skipping
        /// jobs another node is ticking), asks `plan` what to do with each, supersedes previous runs
        /// if planned, inserts the planned rows (an occurrence that already exists is left alone)
        /// and advances `next_run_at`, all in one transaction. `due_until` is `now` or, for a tick
        /// that looks ahead, later; the rows record `now` (queued, finished, superseded).
        fn enqueue_due(&self, now: DateTime<Utc>, due_until: DateTime<Utc>, limit: u32, plan: &(dyn Fn(&DueJob) -> TickPlan + Send + Sync)) -> Result<TickReport>;

        /// The earliest `next_run_at` of an enabled job, so the engine can sleep until then.
        fn next_due_at(&self) -> Result<Option<DateTime<Utc>>>;

        /// The earliest `not_before` of a queued run (a retry waiting for its backoff).
        fn next_ready_at(&self) -> Result<Option<DateTime<Utc>>>;

        /// Whether a claim at `now` could take a run ready by `ready_until` (its horizon):
        /// some tenant with room under its limits has a ready run the claim would take. The
        /// engine asks after a claim that took nothing while runs were ready: if so, another
        /// node's claim held those tenants for a moment and a claim soon will succeed; if not,
        /// every ready run waits for a limit or for a running run to end.
        fn claimable_now(&self, now: DateTime<Utc>, ready_until: DateTime<Utc>) -> Result<bool>;

        /// The earliest lease expiry of a running run (any node's), so recovery can wake when a dead
        /// node's lease runs out instead of on its next period.
        fn next_lease_expiry(&self) -> Result<Option<DateTime<Utc>>>;

        /// Claims up to `limit` ready runs for `node_id`: tenants with ready work share the claim
        /// (least recently served first, up to `weight` runs each), paused tenants are skipped, a
        /// tenant's running count never exceeds `max_concurrent` and its starts within its rate
        /// limit's window never exceed the limit, across all nodes; a run of a job whose overlap
        /// policy is exclusive waits while another run of the job is running. A run that starts late
        /// records the limit it waited for.
        fn claim(&self, node_id: &str, now: DateTime<Utc>, limit: u32, lease_ttl: Duration) -> Result<Vec<ClaimedRun>>;

        /// Records results; returns for each whether it was accepted (false: fenced out). A retry
        /// attempt, the job's failure streak and last error, and an auto-disable (with its outbox
        /// event) are written in the same transaction.
        fn complete(&self, results: &[RunResult]) -> Result<Vec<bool>>;

        /// [`Store::complete`] then [`Store::claim`], in one transaction: the engine records what
        /// finished and claims for the slots it freed with one commit (on Postgres one disk flush)
        /// instead of two. The claim sees the rooms the results freed.
        ///
        /// Unlike [`Store::claim`], runs count as ready up to `ready_until` (at least `now`): a run
        /// claimed before its `not_before` holds a slot from now on and records `not_before` as its
        /// start; the engine starts it then. Claiming a moment ahead takes the claim's own time (on
        /// Postgres a disk flush) off the start of runs due at an instant.
        fn record_and_claim(&self, results: &[RunResult], node_id: &str, now: DateTime<Utc>, ready_until: DateTime<Utc>, limit: u32, lease_ttl: Duration) -> Result<(Vec<bool>, Vec<ClaimedRun>)>;

        /// Whether the engine, while runs are burning down, should record a batch of results
        /// and claim the next batch in two transactions at once rather than in one
        /// ([`Store::record_and_claim`]): true where two writers work at once (Postgres: two
        /// server processes, two disk flushes that overlap), false where one writer does
        /// everything in turn (SQLite).
        fn records_beside_claims(&self) -> bool;

        /// The running runs of `node_id` that were asked to stop (overlap `cancel_previous`).
        fn cancel_requested(&self, node_id: &str) -> Result<Vec<Uuid>>;

        /// Extends the leases of `run_ids`, the runs `node_id` is executing or holds results
        /// of, to `now + lease_ttl`. Only those: a run the database says `node_id` owns but
        /// that the node does not know of (a claim whose answer was lost with its connection)
        /// is left to expire and be recovered, instead of being renewed forever.
        fn renew_leases(&self, node_id: &str, run_ids: &[Uuid], now: DateTime<Utc>, lease_ttl: Duration) -> Result<u64>;

        /// Marks running runs whose lease expired before `now` as `lost` and queues their next
        /// attempt (trigger `recovery`); returns the lost runs.
        fn recover_expired(&self, now: DateTime<Utc>) -> Result<Vec<Run>>;

        /// Ends the leases of `node_id`'s running runs now, so the next [`Store::recover_expired`]
        /// recovers them: used when a node starts with the id of a previous, dead incarnation.
        fn expire_leases_of_node(&self, node_id: &str, now: DateTime<Utc>) -> Result<u64>;

        /// Hands `node_id`'s running runs back to the queue (graceful shutdown after the grace).
        fn release(&self, node_id: &str, now: DateTime<Utc>) -> Result<u64>;
    }
}
