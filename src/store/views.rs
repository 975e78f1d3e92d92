//! The console's views: tenant counts, job pages, the timeline and the change feed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::jobs::JobState;
use crate::error::Result;
use crate::job::Job;
use crate::tenant::Tenant;

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

/// The states the jobs table filters by. They overlap where a job is in two at once: a paused
/// job is also enabled or disabled, a failing one is enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStateFilter {
    /// Enabled (paused or not).
    Enabled,
    /// Switched off by a person.
    Disabled,
    /// Switched off by Rota after failures.
    AutoDisabled,
    /// Paused (not due until resumed), whether enabled or not.
    Paused,
    /// Enabled, and its last occurrence failed (a failure streak Rota has not yet acted on).
    Failing,
}

impl From<JobState> for JobStateFilter {
    fn from(state: JobState) -> Self {
        match state {
            JobState::Enabled => JobStateFilter::Enabled,
            JobState::Disabled => JobStateFilter::Disabled,
            JobState::AutoDisabled => JobStateFilter::AutoDisabled,
        }
    }
}

/// Which jobs a listing shows, or a bulk action covers: the jobs table's filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobFilters {
    /// Job or tenant names containing this text, ignoring ASCII case.
    pub search: Option<String>,
    pub tenant: Option<String>,
    pub state: Option<JobStateFilter>,
    /// `http`, `command` or `named` (the handler's `type`).
    pub handler_kind: Option<&'static str>,
}

/// One page of a filtered, sorted job listing, computed by the database (the console's jobs
/// table over 100,000 jobs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobQuery {
    /// Job or tenant names containing this text, ignoring ASCII case.
    pub search: Option<String>,
    pub tenant: Option<String>,
    pub state: Option<JobStateFilter>,
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

impl JobQuery {
    /// The listing's filters (what "every job that matches" means for a bulk action).
    pub fn filters(&self) -> JobFilters {
        JobFilters {
            search: self.search.clone(),
            tenant: self.tenant.clone(),
            state: self.state,
            handler_kind: self.handler_kind,
        }
    }
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

store_concern! {
    /// The console's views: tenant counts, job pages, the timeline and the change feed.
    pub trait ConsoleViews {
        /// Every tenant, by name, with its job and run counts; failures count from `since`.
        fn tenant_overview(&self, since: DateTime<Utc>) -> Result<Vec<TenantOverview>>;

        /// One page of jobs matching `query`, and how many match in all.
        fn job_page(&self, query: &JobQuery) -> Result<JobPage>;

        /// The runs of a window, earliest occurrence first (see [`crate::timeline::SpanQuery`]).
        fn run_spans(&self, query: &crate::timeline::SpanQuery) -> Result<Vec<crate::timeline::RunSpan>>;

        /// Runs created at or after `created_since`, started or finished at or after
        /// `changed_since`, or listed in `also`; oldest first, at most `limit` (plus `also`).
        fn changed_runs(&self, created_since: DateTime<Utc>, changed_since: DateTime<Utc>, also: &[Uuid], limit: u32) -> Result<Vec<crate::timeline::RunSpan>>;

        /// Runs started in `[from, to)` in buckets of `bucket` from `from` (empty buckets left out).
        fn run_buckets(&self, from: DateTime<Utc>, to: DateTime<Utc>, bucket: Duration) -> Result<Vec<crate::timeline::RunBucket>>;

        /// Each job's average duration (ms) over its successful runs started since `since`.
        fn average_durations(&self, since: DateTime<Utc>) -> Result<Vec<(Uuid, f64)>>;

        /// Enabled, unpaused jobs due before `before`, soonest first, at most `limit`; optionally
        /// of one tenant (by name) or one job.
        fn jobs_due_before(&self, before: DateTime<Utc>, tenant: Option<&str>, job_id: Option<Uuid>, limit: u32) -> Result<Vec<Job>>;

        /// The latest job and tenant edits and node heartbeat.
        fn change_marks(&self) -> Result<crate::timeline::ChangeMarks>;
    }
}
