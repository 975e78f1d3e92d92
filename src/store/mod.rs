//! The storage seam: everything Rota keeps lives behind [`Store`], implemented for Postgres
//! ([`postgres::PgStore`]) and SQLite ([`sqlite::SqliteStore`]). The backend is chosen once, at
//! start-up, from the database URL ([`AnyStore::connect`]).
//!
//! Architecture invariants:
//! - Only this module (and its submodules) imports `sqlx`; the engine sees only this trait.
//! - Portable SQL is written once (`sql.rs`); a statement has a per-backend version only where
//!   the dialects truly differ (claiming with `FOR UPDATE SKIP LOCKED` versus SQLite's single
//!   writer), and the SQLite copy says why.
//! - `now` is always a parameter: the database's own clock is never read, so tests on virtual
//!   time control every instant the store writes.
//! - Both backends pass the same behavioural suite (`tests/store_suite.rs`).

mod any;
mod codec;
mod portable;
pub mod postgres;
mod sql;
pub mod sqlite;

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;
use crate::handler::HandlerSpec;
use crate::job::{Job, JobDefinition};
use crate::policy::{JobPolicy, RetryPolicy, TenantPolicy, WaitedFor};
use crate::run::{Run, RunStatus, Trigger};
use crate::tenant::{NewTenant, Tenant};

pub use any::{AnyStore, Backend};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// An enabled job whose next run instant has come, as the tick sees it.
#[derive(Debug, Clone)]
pub struct DueJob {
    pub job_id: Uuid,
    pub tenant_id: Uuid,
    pub schedule: String,
    pub timezone: String,
    pub next_run_at: DateTime<Utc>,
    pub policy: JobPolicy,
    /// Whether the job had a run running, and one queued (retries waiting included), when the
    /// tick read it: 0 or 1 each (the overlap policies need no more, and a count would read a
    /// whole backlog).
    pub running: u64,
    pub queued: u64,
    /// The job's last pause, once it was resumed: occurrences in it were missed because of it.
    pub paused_between: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// One row the tick writes for an occurrence (attempt 1, trigger `schedule`): a run to queue,
/// or an occurrence recorded as `skipped` or `missed` with its reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedRun {
    pub scheduled_at: DateTime<Utc>,
    /// When a queued run becomes ready (after the job's jitter offset); ignored otherwise.
    pub not_before: DateTime<Utc>,
    /// `Queued`, `Skipped` or `Missed`.
    pub status: RunStatus,
    pub reason: Option<String>,
    pub waited_for: Option<WaitedFor>,
}

impl PlannedRun {
    /// A run of `scheduled_at`, ready at once.
    pub fn queued(scheduled_at: DateTime<Utc>) -> Self {
        PlannedRun {
            scheduled_at,
            not_before: scheduled_at,
            status: RunStatus::Queued,
            reason: None,
            waited_for: None,
        }
    }

    /// An occurrence that did not run.
    pub fn recorded(scheduled_at: DateTime<Utc>, status: RunStatus, reason: String) -> Self {
        PlannedRun {
            scheduled_at,
            not_before: scheduled_at,
            status,
            reason: Some(reason),
            waited_for: None,
        }
    }
}

/// What the tick decided for one due job: which rows to write for its occurrences and where the
/// job's next run instant moves. Decided by the engine, written by the store in the same
/// transaction that read the job.
#[derive(Debug, Clone, Default)]
pub struct TickPlan {
    pub runs: Vec<PlannedRun>,
    /// `None` means the schedule never fires again; the job stays enabled but is never due.
    pub next_run_at: Option<DateTime<Utc>>,
    /// Overlap `cancel_previous`: before inserting, cancel the job's queued runs and ask its
    /// running ones to stop, with this reason.
    pub supersede: Option<String>,
}

impl TickPlan {
    /// A plan that queues each of `occurrences`, ready at its instant.
    pub fn enqueue(occurrences: &[DateTime<Utc>], next_run_at: Option<DateTime<Utc>>) -> Self {
        TickPlan {
            runs: occurrences.iter().copied().map(PlannedRun::queued).collect(),
            next_run_at,
            supersede: None,
        }
    }

    /// The instants of the runs it queues.
    pub fn queued(&self) -> Vec<DateTime<Utc>> {
        self.runs
            .iter()
            .filter(|run| run.status == RunStatus::Queued)
            .map(|run| run.scheduled_at)
            .collect()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Due jobs read and advanced.
    pub jobs: u64,
    /// Runs queued; an occurrence another node enqueued first is not counted.
    pub enqueued: u64,
    /// Occurrences recorded as `skipped` or `missed`.
    pub recorded: u64,
}

/// How a backfill went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackfillReport {
    /// Occurrences in the range.
    pub occurrences: u64,
    /// Runs queued (trigger `backfill`).
    pub queued: u64,
    /// Occurrences left alone: they ran, are running or are queued already.
    pub already_present: u64,
}

/// An event for a tenant, written to the outbox in the same transaction as the change it
/// reports. The notification worker ([`crate::notify`]) delivers it; its id is the stable id
/// receivers deduplicate with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEvent {
    pub id: Uuid,
    /// `job.auto_disabled`, `job.re_enabled`, `run.failed` or `tenant.throttled`.
    #[serde(rename = "type")]
    pub kind: String,
    pub tenant_id: Uuid,
    pub job_id: Option<Uuid>,
    pub occurred_at: DateTime<Utc>,
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// The outbox event written when Rota disables a job after failures.
pub const EVENT_JOB_AUTO_DISABLED: &str = "job.auto_disabled";
/// The outbox event written when a person enables a disabled job again.
pub const EVENT_JOB_RE_ENABLED: &str = "job.re_enabled";
/// The outbox event written when an occurrence failed (its last attempt did), for tenants that
/// opted in ([`TenantSettings::notify_run_failed`]).
pub const EVENT_RUN_FAILED: &str = "run.failed";
/// The outbox event written when a claim finds a tenant's ready runs held back by its rate
/// limit, at most once per window, for tenants that opted in
/// ([`TenantSettings::notify_throttled`]).
pub const EVENT_TENANT_THROTTLED: &str = "tenant.throttled";

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

/// A scheduler process, as registered in the `nodes` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeInfo {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub version: String,
    pub workers: u32,
    pub started_at: DateTime<Utc>,
    pub heartbeat_at: DateTime<Utc>,
    pub stopped_at: Option<DateTime<Utc>>,
}

/// A change to a tenant's settings; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantUpdate {
    pub max_concurrent: Option<u32>,
    pub weight: Option<u32>,
    /// A paused tenant's runs stay queued (none is claimed) until it is resumed; its schedules
    /// keep ticking (under the default overlap policy, `skip`, an occurrence behind a queued run
    /// of the same job is recorded `skipped`, so the queue does not pile up).
    pub paused: Option<bool>,
}

/// A tenant's notification channels and the defaults of its commands (`rota tenant set`). The
/// webhook secret never shows: `Debug` redacts it and this type is not serialized.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantSettings {
    /// Where the tenant's notifications are posted.
    pub webhook_url: Option<String>,
    /// Signs the tenant's webhooks and its HTTP handlers' requests (`Rota-Signature`).
    pub webhook_secret: Option<crate::handler::SigningSecret>,
    pub notify_email: Option<String>,
    /// Defaults for the limits the tenant's jobs do not set.
    pub command_limits: crate::handler::CommandLimits,
    /// Default run-as user of the tenant's commands.
    pub run_as: Option<String>,
    /// Working directory of the tenant's commands, instead of `<work root>/<tenant>`.
    pub work_dir: Option<std::path::PathBuf>,
    /// Opt-in: a `run.failed` notification for every failed occurrence.
    pub notify_run_failed: bool,
    /// Opt-in: a `tenant.throttled` notification when the rate limit holds runs back (at most
    /// one per rate-limit window).
    pub notify_throttled: bool,
}

/// A change to [`TenantSettings`]: `None` leaves a field as it is, `Some(None)` clears it.
/// `command_limits` replaces the whole set (an empty set clears it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantSettingsUpdate {
    pub webhook_url: Option<Option<String>>,
    pub webhook_secret: Option<Option<crate::handler::SigningSecret>>,
    pub notify_email: Option<Option<String>>,
    pub command_limits: Option<crate::handler::CommandLimits>,
    pub run_as: Option<Option<String>>,
    pub work_dir: Option<Option<std::path::PathBuf>>,
    pub notify_run_failed: Option<bool>,
    pub notify_throttled: Option<bool>,
}

/// A disabled job's `disabled_reason` when Rota (not a person) switched it off after too many
/// consecutive failed occurrences, or after a failure on probation (the job's `last_error` and
/// the `job.auto_disabled` outbox event say more). [`JobState::AutoDisabled`] and the console's
/// counts rely on it; a person's reason may not be this text.
pub const AUTO_DISABLED_REASON: &str = "auto";

/// Whether a job runs on its schedule, for people and for filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Enabled,
    /// Switched off by a person.
    Disabled,
    /// Switched off by Rota after too many consecutive failures (the reason is
    /// [`AUTO_DISABLED_REASON`]).
    AutoDisabled,
}

impl JobState {
    pub fn of(job: &Job) -> JobState {
        match (&job.enabled, &job.disabled_reason) {
            (true, _) => JobState::Enabled,
            (false, Some(reason)) if reason == AUTO_DISABLED_REASON => JobState::AutoDisabled,
            (false, _) => JobState::Disabled,
        }
    }
}

/// The orders a job listing can be sorted in; ties are broken by tenant, name and id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobSort {
    #[default]
    Name,
    Tenant,
    /// Soonest first; jobs that never run again come last.
    NextRun,
    /// Least recent first; jobs that never ran come last.
    LastRun,
    /// Fewest consecutive failures first.
    Failures,
    /// Least recently changed first.
    Updated,
}

/// One page of a filtered, sorted job listing, computed by the database (the console's jobs
/// table over 100,000 jobs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobQuery {
    /// Job or tenant names containing this text, ignoring ASCII case.
    pub search: Option<String>,
    pub tenant: Option<String>,
    pub state: Option<JobState>,
    /// `http`, `command` or `named` (the handler's `type`).
    pub handler_kind: Option<&'static str>,
    pub sort: JobSort,
    pub descending: bool,
    /// Start just after this row (the previous page's [`JobPage::next`]); `None` for the first
    /// page. Keyset paging: a deep page costs what the first one does, where `OFFSET` would
    /// read and drop every row before it.
    pub after: Option<JobCursor>,
    /// At most this many jobs (bounded by the store's list limit).
    pub limit: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    /// How many jobs match the filters, on all pages.
    pub total: u64,
    /// Where the next page starts, or `None` when this is the last one.
    pub next: Option<JobCursor>,
}

/// A position in a sorted job listing: the sort key of the last row of a page. Pages are
/// ordered by (sort column, job name, job id), all in the listing's direction; an unset instant
/// (`next_run`, `last_run`) sorts after every set one in both directions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCursor {
    pub sort: JobSort,
    pub descending: bool,
    /// The sort column's value in that row: `None` for [`JobSort::Name`] (the name is the
    /// column) and for an unset instant.
    pub key: Option<CursorKey>,
    pub name: String,
    pub id: Uuid,
}

/// A sort column's value in a [`JobCursor`]: a tenant name, or a number (failures, or an
/// instant in Unix milliseconds as stored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CursorKey {
    Text(String),
    Number(i64),
}

impl JobCursor {
    /// The cursor just after `job` in a listing sorted by `sort`.
    pub fn after(job: &Job, sort: JobSort, descending: bool) -> JobCursor {
        let key = match sort {
            JobSort::Name => None,
            JobSort::Tenant => Some(CursorKey::Text(job.tenant.clone())),
            JobSort::NextRun => job.next_run_at.map(|at| CursorKey::Number(at.timestamp_millis())),
            JobSort::LastRun => job.last_run_at.map(|at| CursorKey::Number(at.timestamp_millis())),
            JobSort::Failures => Some(CursorKey::Number(i64::from(job.consecutive_failures))),
            JobSort::Updated => Some(CursorKey::Number(job.updated_at.timestamp_millis())),
        };
        JobCursor { sort, descending, key, name: job.name.clone(), id: job.id }
    }

    /// Whether this cursor is a position in a listing sorted by `sort` in this direction.
    pub fn fits(&self, sort: JobSort, descending: bool) -> bool {
        let key_fits = matches!(
            (sort, &self.key),
            (JobSort::Name | JobSort::NextRun | JobSort::LastRun, None)
                | (JobSort::Tenant, Some(CursorKey::Text(_)))
                | (
                    JobSort::NextRun | JobSort::LastRun | JobSort::Failures | JobSort::Updated,
                    Some(CursorKey::Number(_))
                )
        );
        key_fits && self.sort == sort && self.descending == descending
    }

    /// The cursor as opaque text for a front end to hand back.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads [`JobCursor::encode`]'s text; the error names the field `cursor`.
    pub fn decode(text: &str) -> Result<JobCursor> {
        serde_json::from_str(text).map_err(|_| {
            crate::error::Error::invalid(
                "cursor",
                "(cursor)",
                "not a position in the jobs listing; start again from the first page",
            )
        })
    }
}

/// A tenant with the live counts the console shows next to it.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantOverview {
    pub tenant: Tenant,
    pub jobs: u64,
    pub running: u64,
    pub queued: u64,
    /// Runs that ended `failed`, `timed_out` or `lost` at or after the `since` instant asked for.
    pub failed_since: u64,
    pub auto_disabled_jobs: u64,
}

#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub tenant: Option<String>,
    pub enabled: Option<bool>,
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub tenant: Option<String>,
    pub job: Option<String>,
    pub job_id: Option<Uuid>,
    pub status: Option<RunStatus>,
    /// Newest first; default 100.
    pub limit: Option<u32>,
}

/// Everything Rota keeps. Every method that writes takes `now` from the caller's clock.
pub trait Store: Clone + Send + Sync + 'static {
    /// Applies pending migrations (idempotent).
    fn migrate(&self) -> impl Future<Output = Result<()>> + Send;

    // Tenants.
    /// Every method that changes something takes the `operator` to record in the audit log,
    /// and writes the entry in the same transaction as the change (see [`crate::audit`]).
    fn create_tenant(
        &self,
        tenant: &NewTenant,
        operator: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Tenant>> + Send;
    fn tenant_by_name(&self, name: &str) -> impl Future<Output = Result<Tenant>> + Send;
    fn list_tenants(&self) -> impl Future<Output = Result<Vec<Tenant>>> + Send;
    /// Changes the settings of tenant `name` (pausing, limits); [`crate::Error::NotFound`] if
    /// there is no such tenant.
    fn update_tenant(
        &self,
        name: &str,
        update: &TenantUpdate,
        operator: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Tenant>> + Send;
    /// Replaces the rate limit and job defaults of tenant `name`.
    fn set_tenant_policy(
        &self,
        name: &str,
        policy: &TenantPolicy,
        operator: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Tenant>> + Send;

    // Named handlers.
    fn upsert_named_handler(
        &self,
        name: &str,
        spec: &HandlerSpec,
        operator: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn named_handler(&self, name: &str)
        -> impl Future<Output = Result<Option<HandlerSpec>>> + Send;

    // Jobs.
    fn create_job(
        &self,
        tenant_id: Uuid,
        definition: &JobDefinition,
        policy: &JobPolicy,
        next_run_at: Option<DateTime<Utc>>,
        operator: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Job>> + Send;
    fn job(&self, id: Uuid) -> impl Future<Output = Result<Job>> + Send;
    fn job_by_name(&self, tenant: &str, name: &str) -> impl Future<Output = Result<Job>> + Send;
    fn list_jobs(&self, filter: &JobFilter) -> impl Future<Output = Result<Vec<Job>>> + Send;
    /// Replaces the definition if the stored version is `expected_version`, else
    /// [`crate::Error::StaleVersion`] and nothing changes.
    fn update_job(
        &self,
        id: Uuid,
        expected_version: i64,
        definition: &JobDefinition,
        next_run_at: Option<DateTime<Utc>>,
        operator: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Job>> + Send;

    /// Disables a job (with a reason people can read) or enables it again (forgetting its
    /// failure streak), and sets its next run instant; bumps the version.
    fn set_job_enabled(
        &self,
        id: Uuid,
        enabled: bool,
        reason: Option<&str>,
        next_run_at: Option<DateTime<Utc>>,
        operator: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Job>> + Send;
    /// Replaces the job's policies if the stored version is `expected_version`, else
    /// [`crate::Error::StaleVersion`] and nothing changes.
    fn update_job_policy(
        &self,
        id: Uuid,
        expected_version: i64,
        policy: &JobPolicy,
        operator: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Job>> + Send;
    /// Pauses or resumes a job (the pause's start and end are kept for the tick's reasons).
    fn set_job_paused(
        &self,
        id: Uuid,
        paused: bool,
        operator: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Job>> + Send;
    /// Enables a disabled job again: forgets its failure streak, records `operator`, puts it on
    /// probation if asked, sets its next run, and writes a `job.re_enabled` outbox event, in one
    /// transaction. An enabled job is left as it is.
    fn enable_job(
        &self,
        id: Uuid,
        operator: &str,
        probation: bool,
        next_run_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Job>> + Send;

    // Runs.
    /// Queues a run of `job_id` now (trigger `manual`), with an optional payload override. Its
    /// `scheduled_at` is `now` moved forward by a millisecond at a time off whole seconds (where
    /// scheduled occurrences fall, so a manual run never takes one's place) and off instants
    /// already taken.
    fn enqueue_manual(
        &self,
        job_id: Uuid,
        payload: Option<&serde_json::Value>,
        operator: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Run>> + Send;
    fn run(&self, id: Uuid) -> impl Future<Output = Result<Run>> + Send;
    /// Queues a run (trigger `backfill`) of each of `occurrences` of `job_id` that has no row
    /// yet or whose latest row is `missed` or `skipped`, in one transaction; idempotent.
    fn backfill(
        &self,
        job_id: Uuid,
        occurrences: &[DateTime<Utc>],
        operator: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<BackfillReport>> + Send;
    /// Deletes finished runs scheduled before `before`, except the last `keep_last` of each job,
    /// in batches of `batch` (each its own transaction); returns how many.
    fn prune_runs(
        &self,
        before: DateTime<Utc>,
        keep_last: u32,
        batch: u32,
    ) -> impl Future<Output = Result<u64>> + Send;
    /// Deletes outbox events settled (delivered, or given up on) before `before`, and delivery
    /// attempts logged before `before` except those of events still being delivered; in
    /// batches of `batch`. Returns (events, deliveries) deleted.
    fn prune_notifications(
        &self,
        before: DateTime<Utc>,
        batch: u32,
    ) -> impl Future<Output = Result<(u64, u64)>> + Send;
    /// The outbox's events, oldest first.
    fn list_outbox(&self, limit: u32) -> impl Future<Output = Result<Vec<OutboxEvent>>> + Send;
    fn list_runs(&self, filter: &RunFilter) -> impl Future<Output = Result<Vec<Run>>> + Send;

    // The engine's steps.
    /// Reads up to `limit` enabled, unpaused jobs with `next_run_at <= due_until` (skipping
    /// jobs another node is ticking), asks `plan` what to do with each, supersedes previous runs
    /// if planned, inserts the planned rows (an occurrence that already exists is left alone)
    /// and advances `next_run_at`, all in one transaction. `due_until` is `now` or, for a tick
    /// that looks ahead, later; the rows record `now` (queued, finished, superseded).
    fn enqueue_due(
        &self,
        now: DateTime<Utc>,
        due_until: DateTime<Utc>,
        limit: u32,
        plan: &(dyn Fn(&DueJob) -> TickPlan + Send + Sync),
    ) -> impl Future<Output = Result<TickReport>> + Send;
    /// The earliest `next_run_at` of an enabled job, so the engine can sleep until then.
    fn next_due_at(&self) -> impl Future<Output = Result<Option<DateTime<Utc>>>> + Send;
    /// The earliest `not_before` of a queued run (a retry waiting for its backoff).
    fn next_ready_at(&self) -> impl Future<Output = Result<Option<DateTime<Utc>>>> + Send;
    /// The earliest lease expiry of a running run (any node's), so recovery can wake when a dead
    /// node's lease runs out instead of on its next period.
    fn next_lease_expiry(&self) -> impl Future<Output = Result<Option<DateTime<Utc>>>> + Send;
    /// Claims up to `limit` ready runs for `node_id`: tenants with ready work share the claim
    /// (least recently served first, up to `weight` runs each), paused tenants are skipped, a
    /// tenant's running count never exceeds `max_concurrent` and its starts within its rate
    /// limit's window never exceed the limit, across all nodes; a run of a job whose overlap
    /// policy is exclusive waits while another run of the job is running. A run that starts late
    /// records the limit it waited for.
    fn claim(
        &self,
        node_id: &str,
        now: DateTime<Utc>,
        limit: u32,
        lease_ttl: Duration,
    ) -> impl Future<Output = Result<Vec<ClaimedRun>>> + Send;
    /// Records results; returns for each whether it was accepted (false: fenced out). A retry
    /// attempt, the job's failure streak and last error, and an auto-disable (with its outbox
    /// event) are written in the same transaction.
    fn complete(&self, results: &[RunResult]) -> impl Future<Output = Result<Vec<bool>>> + Send;
    /// [`Store::complete`] then [`Store::claim`], in one transaction: the engine records what
    /// finished and claims for the slots it freed with one commit (on Postgres one disk flush)
    /// instead of two. The claim sees the rooms the results freed.
    ///
    /// Unlike [`Store::claim`], runs count as ready up to `ready_until` (at least `now`): a run
    /// claimed before its `not_before` holds a slot from now on and records `not_before` as its
    /// start; the engine starts it then. Claiming a moment ahead takes the claim's own time (on
    /// Postgres a disk flush) off the start of runs due at an instant.
    fn record_and_claim(
        &self,
        results: &[RunResult],
        node_id: &str,
        now: DateTime<Utc>,
        ready_until: DateTime<Utc>,
        limit: u32,
        lease_ttl: Duration,
    ) -> impl Future<Output = Result<(Vec<bool>, Vec<ClaimedRun>)>> + Send;
    /// The running runs of `node_id` that were asked to stop (overlap `cancel_previous`).
    fn cancel_requested(&self, node_id: &str) -> impl Future<Output = Result<Vec<Uuid>>> + Send;
    /// Extends the leases of `node_id`'s running runs to `now + lease_ttl`.
    fn renew_leases(
        &self,
        node_id: &str,
        now: DateTime<Utc>,
        lease_ttl: Duration,
    ) -> impl Future<Output = Result<u64>> + Send;
    /// Marks running runs whose lease expired before `now` as `lost` and queues their next
    /// attempt (trigger `recovery`); returns the lost runs.
    fn recover_expired(&self, now: DateTime<Utc>) -> impl Future<Output = Result<Vec<Run>>> + Send;
    /// Ends the leases of `node_id`'s running runs now, so the next [`Store::recover_expired`]
    /// recovers them: used when a node starts with the id of a previous, dead incarnation.
    fn expire_leases_of_node(
        &self,
        node_id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64>> + Send;
    /// Hands `node_id`'s running runs back to the queue (graceful shutdown after the grace).
    fn release(
        &self,
        node_id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64>> + Send;

    // Nodes.
    fn register_node(&self, node: &NodeInfo) -> impl Future<Output = Result<()>> + Send;
    fn heartbeat(
        &self,
        node_id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn mark_node_stopped(
        &self,
        node_id: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn list_nodes(&self) -> impl Future<Output = Result<Vec<NodeInfo>>> + Send;

    // The console's views.
    /// Every tenant, by name, with its job and run counts; failures count from `since`.
    fn tenant_overview(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<TenantOverview>>> + Send;
    /// One page of jobs matching `query`, and how many match in all.
    fn job_page(&self, query: &JobQuery) -> impl Future<Output = Result<JobPage>> + Send;

    // Tenant settings, named handler listing and job deletion (schedules as files, isolation,
    // signing).
    /// The channels and command defaults of tenant `name`.
    fn tenant_settings(&self, name: &str) -> impl Future<Output = Result<TenantSettings>> + Send;
    /// Changes the settings of tenant `name`; [`crate::Error::NotFound`] if there is none.
    fn update_tenant_settings(
        &self,
        name: &str,
        update: &TenantSettingsUpdate,
        operator: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<TenantSettings>> + Send;
    /// Every stored named handler definition, by name.
    fn list_named_handlers(
        &self,
    ) -> impl Future<Output = Result<Vec<(String, HandlerSpec)>>> + Send;
    /// Deletes a job and its runs; [`crate::Error::NotFound`] if there is no such job.
    fn delete_job(
        &self,
        id: Uuid,
        operator: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;

    // The console's run views (issue 7): run details, the timeline, throughput, the change feed
    // (see `crate::timeline`).
    /// Every attempt of the occurrence of `job_id` at `scheduled_at`, first attempt first.
    fn occurrence_runs(
        &self,
        job_id: Uuid,
        scheduled_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<Run>>> + Send;
    /// The runs of a window, earliest occurrence first (see [`crate::timeline::SpanQuery`]).
    fn run_spans(
        &self,
        query: &crate::timeline::SpanQuery,
    ) -> impl Future<Output = Result<Vec<crate::timeline::RunSpan>>> + Send;
    /// Runs created at or after `created_since`, started or finished at or after
    /// `changed_since`, or listed in `also`; oldest first, at most `limit` (plus `also`).
    fn changed_runs(
        &self,
        created_since: DateTime<Utc>,
        changed_since: DateTime<Utc>,
        also: &[Uuid],
        limit: u32,
    ) -> impl Future<Output = Result<Vec<crate::timeline::RunSpan>>> + Send;
    /// Runs started in `[from, to)` in buckets of `bucket` from `from` (empty buckets left out).
    fn run_buckets(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        bucket: Duration,
    ) -> impl Future<Output = Result<Vec<crate::timeline::RunBucket>>> + Send;
    /// Each job's average duration (ms) over its successful runs started since `since`.
    fn average_durations(
        &self,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<(Uuid, f64)>>> + Send;
    /// Enabled, unpaused jobs due before `before`, soonest first, at most `limit`; optionally
    /// of one tenant (by name) or one job.
    fn jobs_due_before(
        &self,
        before: DateTime<Utc>,
        tenant: Option<&str>,
        job_id: Option<Uuid>,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<Job>>> + Send;
    /// How many runs each node is running.
    fn running_by_node(&self) -> impl Future<Output = Result<Vec<(String, u64)>>> + Send;
    /// The latest job and tenant edits and node heartbeat.
    fn change_marks(&self) -> impl Future<Output = Result<crate::timeline::ChangeMarks>> + Send;

    // Notifications and the audit log (issue 5; see `crate::notify` and `crate::audit`).
    /// Claims up to `limit` outbox events that are due (new, or whose backoff has passed) for
    /// `node_id`, oldest due first, skipping events another node is claiming (Postgres `SKIP
    /// LOCKED`; SQLite's single writer): each claim counts an attempt and moves the event's
    /// next attempt to the end of the `lease`, so it is due again only if this node never
    /// reports back. Returns each with its tenant's channels.
    fn claim_events(
        &self,
        node_id: &str,
        now: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> impl Future<Output = Result<Vec<crate::notify::ClaimedEvent>>> + Send;
    /// Logs the delivery attempts of a claimed event and, if the claim is still this node's
    /// (the same attempt), marks the event delivered, due again at the retry instant, or given
    /// up, in one transaction. Returns whether the claim was still this node's.
    fn finish_event(
        &self,
        claim: &crate::notify::EventClaim,
        deliveries: &[crate::notify::DeliveryRecord],
        outcome: crate::notify::EventOutcome,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// The delivery log, newest first.
    fn list_deliveries(
        &self,
        filter: &crate::notify::DeliveryFilter,
    ) -> impl Future<Output = Result<Vec<crate::notify::Delivery>>> + Send;
    /// The audit log, newest first.
    fn list_audit(
        &self,
        filter: &crate::audit::AuditFilter,
    ) -> impl Future<Output = Result<Vec<crate::audit::AuditEntry>>> + Send;
}

/// A trigger is stored as text; keep the mapping next to the seam that stores it.
pub(crate) fn trigger_from_db(text: &str) -> Result<Trigger> {
    text.parse().map_err(|_| crate::error::Error::invalid("runs.trigger", text, "unknown trigger"))
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
