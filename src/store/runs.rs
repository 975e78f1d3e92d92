//! Runs as people see them: reading them, running a job now, backfilling, pruning history.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Result;
use crate::job::JobDefinition;
use crate::run::{Run, RunStatus};

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

#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub tenant: Option<String>,
    pub job: Option<String>,
    pub job_id: Option<Uuid>,
    pub status: Option<RunStatus>,
    /// Newest first; default 100.
    pub limit: Option<u32>,
}

store_concern! {
    /// Runs as people see them: reading them, running a job now, backfilling, pruning history.
    pub trait RunStore {
        /// Queues a run of `job_id` now (trigger `manual`), with an optional payload override. Its
        /// `scheduled_at` is `now` moved forward by a millisecond at a time off whole seconds (where
        /// scheduled occurrences fall, so a manual run never takes one's place) and off instants
        /// already taken.
        fn enqueue_manual(&self, job_id: Uuid, payload: Option<&serde_json::Value>, operator: &str, now: DateTime<Utc>) -> Result<Run>;

        /// Queues a test run (trigger `test`) of `definition` in tenant `tenant_id` now: a run
        /// with no job row behind it, which carries the definition; written with its audit entry.
        fn enqueue_test(&self, tenant_id: Uuid, definition: &JobDefinition, operator: &str, now: DateTime<Utc>) -> Result<Run>;

        /// Any run by id, a test run too.
        fn run(&self, id: Uuid) -> Result<Run>;

        /// Queues a run (trigger `backfill`) of each of `occurrences` of `job_id` that has no row
        /// yet or whose latest row is `missed` or `skipped`, in one transaction; idempotent.
        fn backfill(&self, job_id: Uuid, occurrences: &[DateTime<Utc>], operator: &str, now: DateTime<Utc>) -> Result<BackfillReport>;

        /// Deletes finished runs scheduled before `before`, except the last `keep_last` of each job,
        /// in batches of `batch` (each its own transaction); returns how many.
        fn prune_runs(&self, before: DateTime<Utc>, keep_last: u32, batch: u32) -> Result<u64>;

        /// After a retention pass: reclaims the space of deleted and updated rows where the
        /// database does not do it by itself (Postgres with autovacuum off); whether it did.
        fn reclaim_space(&self) -> Result<bool>;

        fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>>;

        /// Every attempt of the occurrence of `job_id` at `scheduled_at`, first attempt first.
        fn occurrence_runs(&self, job_id: Uuid, scheduled_at: DateTime<Utc>) -> Result<Vec<Run>>;
    }
}
