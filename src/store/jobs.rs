//! Jobs: their definitions, policies, pausing and enabling.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;
use crate::job::{DisabledBy, Job, JobDefinition};
use crate::policy::JobPolicy;

/// The `disabled_reason` Rota writes when it switches a job off after too many consecutive
/// failed occurrences, or after a failure on probation (the job's `last_error` and the
/// `job.auto_disabled` outbox event say more). Who disabled a job is `disabled_by`
/// ([`crate::job::DisabledBy`]); this text is kept for readers of the reason and for older
/// binaries during a rolling upgrade.
pub const AUTO_DISABLED_REASON: &str = "auto";

/// Whether a job runs on its schedule, for people and for filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Enabled,
    /// Switched off by a person.
    Disabled,
    /// Switched off by Rota after too many consecutive failures
    /// ([`crate::job::DisabledBy::Engine`]).
    AutoDisabled,
}

impl JobState {
    pub fn of(job: &Job) -> JobState {
        match (job.enabled, job.disabled_by) {
            (true, _) => JobState::Enabled,
            (false, Some(DisabledBy::Engine)) => JobState::AutoDisabled,
            (false, _) => JobState::Disabled,
        }
    }
}

/// What a bulk action does to each job it covers (`Rota::bulk_jobs`). A job already in the
/// state asked for is left as it is, with no audit entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkJobAction {
    Pause,
    Resume,
    /// Enables disabled jobs again, as [`JobStore::enable_job`] does one (a `job.re_enabled`
    /// event each; on probation when asked or when the job's policy says so).
    Enable,
    /// Disables enabled jobs, as a person does (`disabled_by = 'person'`).
    Disable,
}

/// Which jobs a bulk action covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobSelection {
    /// These jobs (the rows a person ticked); ids of jobs that are gone, or that the role
    /// cannot see, select nothing.
    Ids(Vec<Uuid>),
    /// Every job matching the jobs table's filters, on all its pages.
    Matching(crate::store::JobFilters),
}

/// One job's change in a bulk action, made only if the job is still as it was read (at
/// `job.version`); `job` is also the audit entry's `before`.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkJobChange {
    pub job: Job,
    /// The next run instant, for [`BulkJobAction::Enable`] (computed from now, so the time the
    /// job was disabled causes no burst); ignored by the other actions.
    pub next_run_at: Option<DateTime<Utc>>,
    /// For [`BulkJobAction::Enable`]: put the job on probation.
    pub probation: bool,
}

#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub tenant: Option<String>,
    pub enabled: Option<bool>,
    pub limit: Option<u32>,
}

store_concern! {
    /// Jobs: their definitions, policies, pausing and enabling.
    pub trait JobStore {
        fn create_job(&self, tenant_id: Uuid, definition: &JobDefinition, policy: &JobPolicy, next_run_at: Option<DateTime<Utc>>, operator: &str, now: DateTime<Utc>) -> Result<Job>;

        fn job(&self, id: Uuid) -> Result<Job>;

        fn job_by_name(&self, tenant: &str, name: &str) -> Result<Job>;

        fn list_jobs(&self, filter: &JobFilter) -> Result<Vec<Job>>;

        /// Replaces the definition if the stored version is `expected_version`, else
        /// [`crate::Error::StaleVersion`] and nothing changes.
        fn update_job(&self, id: Uuid, expected_version: i64, definition: &JobDefinition, next_run_at: Option<DateTime<Utc>>, operator: &str, now: DateTime<Utc>) -> Result<Job>;

        /// Replaces the job's policies if the stored version is `expected_version`, else
        /// [`crate::Error::StaleVersion`] and nothing changes.
        fn update_job_policy(&self, id: Uuid, expected_version: i64, policy: &JobPolicy, operator: &str, now: DateTime<Utc>) -> Result<Job>;

        /// Pauses or resumes a job (the pause's start and end are kept for the tick's reasons).
        fn set_job_paused(&self, id: Uuid, paused: bool, operator: &str, now: DateTime<Utc>) -> Result<Job>;

        /// Enables a disabled job again: forgets its failure streak, records `operator`, puts it on
        /// probation if asked, sets its next run, and writes a `job.re_enabled` outbox event, in one
        /// transaction. An enabled job is left as it is.
        fn enable_job(&self, id: Uuid, operator: &str, probation: bool, next_run_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<Job>;

        /// Disables a job (with a reason people can read) or enables it again (forgetting its
        /// failure streak), and sets its next run instant; bumps the version.
        fn set_job_enabled(&self, id: Uuid, enabled: bool, reason: Option<&str>, next_run_at: Option<DateTime<Utc>>, operator: &str, now: DateTime<Utc>) -> Result<Job>;

        /// The jobs `selection` covers, by id, at most `limit` (one statement).
        fn select_jobs(&self, selection: &JobSelection, limit: u32) -> Result<Vec<Job>>;

        /// Applies `action` to each job of `changes` in one transaction: one statement changes
        /// them all, and each gets its audit entry (and, for enable, its `job.re_enabled`
        /// event). All or nothing: if any job is gone or no longer at its version,
        /// [`crate::Error::StaleVersion`] and nothing changes. Returns the changed jobs.
        fn bulk_update_jobs(&self, action: BulkJobAction, changes: &[BulkJobChange], operator: &str, now: DateTime<Utc>) -> Result<Vec<Job>>;

        /// Deletes a job and its runs; [`crate::Error::NotFound`] if there is no such job.
        fn delete_job(&self, id: Uuid, operator: &str, now: DateTime<Utc>) -> Result<()>;
    }
}
