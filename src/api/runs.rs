//! Runs: reading them, queuing one now (a manual trigger), backfilling past occurrences and
//! pruning the history.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::access::in_tenant;
use super::{check_limit, retention_cutoff, JobRef, Rota};
use crate::access::Capability;
use crate::error::{Error, Result};
use crate::job::{Job, JobDefinition};
use crate::run::Run;
use crate::store::{RunFilter, Store};

pub use crate::store::BackfillReport;

/// What [`Rota::backfill`] covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackfillRequest {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The most occurrences the range may hold, 1 to [`MAX_BACKFILL`]; `None`:
    /// [`DEFAULT_BACKFILL_MAX`].
    pub max: Option<u32>,
    /// Only list the occurrences (`rota job backfill --dry-run`, the console's preview).
    pub dry_run: bool,
}

/// What a backfill found and did.
#[derive(Debug, Clone, PartialEq)]
pub struct Backfill {
    /// The job, as read when the backfill started.
    pub job: Job,
    /// The occurrences of the job's schedule in the range, oldest first.
    pub occurrences: Vec<DateTime<Utc>>,
    /// How many runs were queued and how many were present already; `None` on a dry run.
    pub report: Option<BackfillReport>,
}

/// A backfill creates at most this many runs unless asked for another bound.
pub const DEFAULT_BACKFILL_MAX: u32 = 1000;
/// No backfill creates more runs than this, whatever is asked.
pub const MAX_BACKFILL: u32 = 10_000;
/// Runs deleted per transaction by [`Rota::prune_runs`].
pub const PRUNE_BATCH: u32 = 1000;

impl<S: Store> Rota<S> {
    pub async fn run(&self, id: Uuid) -> Result<Run> {
        self.store.run(id).await
    }

    pub async fn list_runs(&self, filter: &RunFilter) -> Result<Vec<Run>> {
        self.store.list_runs(filter).await
    }

    /// Queues a run of the job now ("run now"), optionally with another payload.
    pub async fn trigger(
        &self,
        job: impl Into<JobRef<'_>>,
        payload: Option<&serde_json::Value>,
    ) -> Result<Run> {
        let (id, tenant) = self.job_for(job.into(), Capability::Operate).await?;
        self.store
            .enqueue_manual(id, payload, &self.operator, self.now())
            .await
            .map_err(in_tenant(Capability::Operate, &tenant))
    }

    /// Runs `definition` once in `tenant` as a test (the job editor's "test run"), before it is
    /// saved: a queued run with trigger `test` that the running engine claims and executes like
    /// any run, under the tenant's isolation, run-as user, limits and the definition's timeout.
    /// Follow it with [`Rota::run`].
    ///
    /// It is validated exactly as saving the definition would be (the same named errors, and
    /// nothing written on a refusal), and needs `edit` in the tenant: it executes whatever was
    /// typed, which only an editor may save (`operate` only runs what an editor saved).
    ///
    /// No job row is behind it, so it touches no job: not a failure streak or auto-disable, not
    /// a next run, not an overlap policy (it is never exclusive and never waits for a job's
    /// runs), not a job's history; it is never retried or recovered. It does count as the
    /// tenant's work: it waits for a slot under `max_concurrent` and the rate limit, and a
    /// paused tenant holds it, like the tenant's other runs. It is audited as `job.triggered`
    /// with the definition.
    pub async fn test_run(&self, tenant: &str, definition: &JobDefinition) -> Result<Run> {
        definition.validate()?;
        self.require(Capability::Edit, tenant).await?;
        self.check_named_handler_exists(&definition.handler).await?;
        self.check_program_here(&definition.handler)?;
        self.check_run_as_ceiling(tenant, &definition.handler).await?;
        let tenant = self.store.tenant_by_name(tenant).await?;
        self.store
            .enqueue_test(tenant.id, definition, &self.operator, self.now())
            .await
            .map_err(in_tenant(Capability::Edit, &tenant.name))
    }

    /// The occurrences of a job in the past range `[from, to]`, and unless it is a dry run, a
    /// queued run (trigger `backfill`) for each one that has not run: idempotent (running it
    /// twice adds nothing). More than `max` occurrences (default [`DEFAULT_BACKFILL_MAX`]) is an
    /// error: the range is refused, not cut. The runs count against the tenant's limits.
    pub async fn backfill(
        &self,
        job: impl Into<JobRef<'_>>,
        request: &BackfillRequest,
    ) -> Result<Backfill> {
        let BackfillRequest { from, to, max, dry_run } = *request;
        let max = max.unwrap_or(DEFAULT_BACKFILL_MAX);
        check_limit("max", max, MAX_BACKFILL)?;
        if from >= to {
            return Err(Error::invalid(
                "from",
                from.to_rfc3339(),
                format!("must be before the end of the range ({})", to.to_rfc3339()),
            ));
        }
        if to > self.now() {
            return Err(Error::invalid(
                "to",
                to.to_rfc3339(),
                "must not be in the future: a backfill covers past occurrences",
            ));
        }
        let job = self.job(job).await?;
        let schedule = job.parsed_schedule()?;
        let occurrences: Vec<DateTime<Utc>> = schedule
            .occurrences_after(from - chrono::Duration::milliseconds(1))
            .map(|occurrence| occurrence.at)
            .take_while(|at| *at <= to)
            .take(max as usize + 1)
            .collect();
        if occurrences.len() > max as usize {
            return Err(Error::invalid(
                "backfill range",
                format!("{} to {}", from.to_rfc3339(), to.to_rfc3339()),
                // Neutral words: the console has no `--max`; the CLI adds its flag itself.
                format!(
                    "has more than {max} occurrences, the most one backfill queues; narrow the \
                     range"
                ),
            ));
        }
        let report = if dry_run {
            None
        } else {
            self.require(Capability::Operate, &job.tenant).await?;
            Some(
                self.store
                    .backfill(job.id, &occurrences, &self.operator, self.now())
                    .await
                    .map_err(in_tenant(Capability::Operate, &job.tenant))?,
            )
        };
        Ok(Backfill { job, occurrences, report })
    }

    /// The range `[from, to]` holding the job's last `count` occurrences before now, oldest
    /// first: where a backfill form starts, so its default fits any schedule (an every-minute
    /// job gets ten minutes, a monthly one ten months) and is never refused before anyone typed.
    /// `None` when the schedule has no occurrence before now.
    pub async fn recent_occurrences(
        &self,
        job: impl Into<JobRef<'_>>,
        count: u32,
    ) -> Result<Option<(DateTime<Utc>, DateTime<Utc>)>> {
        check_limit("count", count, MAX_BACKFILL)?;
        let job = self.job(job).await?;
        let schedule = job.parsed_schedule()?;
        let Some(to) = schedule.prev_before(self.now() + chrono::Duration::seconds(1)) else {
            return Ok(None);
        };
        let mut from = to;
        for _ in 1..count {
            match schedule.prev_before(from) {
                Some(earlier) => from = earlier,
                None => break,
            }
        }
        Ok(Some((from, to)))
    }

    /// Deletes finished runs scheduled more than `older_than_days` ago, always keeping the last
    /// `keep_last_per_job` runs of every job; returns how many were deleted.
    pub async fn prune_runs(&self, older_than_days: u32, keep_last_per_job: u32) -> Result<u64> {
        let before = retention_cutoff(older_than_days, self.now())?;
        self.require_admin().await?;
        self.store.prune_runs(before, keep_last_per_job, PRUNE_BATCH).await
    }
}
