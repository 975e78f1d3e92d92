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
}

/// What the tick decided for one due job: which occurrences to enqueue (attempt 1, trigger
/// `schedule`) and where the job's next run instant moves. Decided by the engine, written by the
/// store in the same transaction that read the job.
#[derive(Debug, Clone, Default)]
pub struct TickPlan {
    pub enqueue: Vec<DateTime<Utc>>,
    /// `None` means the schedule never fires again; the job stays enabled but is never due.
    pub next_run_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Due jobs read and advanced.
    pub jobs: u64,
    /// Runs inserted; an occurrence another node enqueued first is not counted.
    pub enqueued: u64,
}

/// A run handed to a node by a claim, with everything needed to execute it.
#[derive(Debug, Clone)]
pub struct ClaimedRun {
    pub run: Run,
    pub handler: HandlerSpec,
    /// The job's payload; `run.payload` overrides it when set.
    pub job_payload: serde_json::Value,
    pub timeout: Duration,
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
    /// keep enqueueing.
    pub paused: Option<bool>,
}

/// The text a disabled job's `disabled_reason` starts with when Rota (not a person) switched it
/// off after too many consecutive failures. [`JobState::AutoDisabled`] and the console's counts
/// rely on it.
pub const AUTO_DISABLED_REASON_PREFIX: &str = "auto-disabled";

/// Whether a job runs on its schedule, for people and for filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Enabled,
    /// Switched off by a person.
    Disabled,
    /// Switched off by Rota after too many consecutive failures (the reason starts with
    /// [`AUTO_DISABLED_REASON_PREFIX`]).
    AutoDisabled,
}

impl JobState {
    pub fn of(job: &Job) -> JobState {
        match (&job.enabled, &job.disabled_reason) {
            (true, _) => JobState::Enabled,
            (false, Some(reason)) if reason.starts_with(AUTO_DISABLED_REASON_PREFIX) => {
                JobState::AutoDisabled
            }
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
    pub offset: u32,
    /// At most this many jobs (bounded by the store's list limit).
    pub limit: u32,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobPage {
    pub jobs: Vec<Job>,
    /// How many jobs match the filters, on all pages.
    pub total: u64,
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
    fn create_tenant(
        &self,
        tenant: &NewTenant,
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
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Tenant>> + Send;

    // Named handlers.
    fn upsert_named_handler(
        &self,
        name: &str,
        spec: &HandlerSpec,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn named_handler(&self, name: &str)
        -> impl Future<Output = Result<Option<HandlerSpec>>> + Send;

    // Jobs.
    fn create_job(
        &self,
        tenant_id: Uuid,
        definition: &JobDefinition,
        next_run_at: Option<DateTime<Utc>>,
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
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Run>> + Send;
    fn run(&self, id: Uuid) -> impl Future<Output = Result<Run>> + Send;
    fn list_runs(&self, filter: &RunFilter) -> impl Future<Output = Result<Vec<Run>>> + Send;

    // The engine's steps.
    /// Reads up to `limit` enabled jobs with `next_run_at <= now` (skipping jobs another node is
    /// ticking), asks `plan` what to do with each, inserts the planned runs (an occurrence that
    /// already exists is left alone) and advances `next_run_at`, all in one transaction.
    fn enqueue_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
        plan: &(dyn Fn(&DueJob) -> TickPlan + Send + Sync),
    ) -> impl Future<Output = Result<TickReport>> + Send;
    /// The earliest `next_run_at` of an enabled job, so the engine can sleep until then.
    fn next_due_at(&self) -> impl Future<Output = Result<Option<DateTime<Utc>>>> + Send;
    /// The earliest `not_before` of a queued run (a retry waiting for its backoff).
    fn next_ready_at(&self) -> impl Future<Output = Result<Option<DateTime<Utc>>>> + Send;
    /// Claims up to `limit` ready runs for `node_id`: tenants with ready work share the claim
    /// (least recently served first, up to `weight` runs each), paused tenants are skipped, and a
    /// tenant's running count never exceeds `max_concurrent` across all nodes.
    fn claim(
        &self,
        node_id: &str,
        now: DateTime<Utc>,
        limit: u32,
        lease_ttl: Duration,
    ) -> impl Future<Output = Result<Vec<ClaimedRun>>> + Send;
    /// Records results; returns for each whether it was accepted (false: fenced out). A retry
    /// attempt and the job's failure streak are written in the same transaction.
    fn complete(&self, results: &[RunResult]) -> impl Future<Output = Result<Vec<bool>>> + Send;
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
}

/// A trigger is stored as text; keep the mapping next to the seam that stores it.
pub(crate) fn trigger_from_db(text: &str) -> Result<Trigger> {
    text.parse().map_err(|_| crate::error::Error::invalid("runs.trigger", text, "unknown trigger"))
}
