//! What the console reads: the overview, tenants with their live counts, pages of the jobs
//! table, a job's runs, every attempt of an occurrence, the timeline with the runs the schedules
//! will make, the scheduler nodes, and the change feed a live view follows. The rules are in
//! [`crate::timeline`]; these read through bounded, indexed store queries. They are plain core
//! operations any front end may use.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{check_limit, Rota};
use crate::error::{Error, Result};
use crate::job::Job;
use crate::run::Run;
use crate::store::{NodeInfo, RunFilter, Store};
use crate::text_enum::text_enum;

pub use crate::store::{
    CursorKey, JobCursor, JobPage, JobQuery, JobSort, JobState, JobStateFilter, TenantOverview,
};
pub use crate::timeline::{
    ChangeCursor, Changes, Projection, RunBucket, RunSpan, SpanQuery, Timeline,
};

/// How far back [`Rota::tenant_overview`] counts failed runs.
pub const RECENT_FAILURES: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// The largest page [`Rota::job_page`] returns.
pub const MAX_JOB_PAGE: u32 = 1000;
/// The most runs [`Rota::job_runs`] returns at once.
pub const MAX_JOB_RUNS: u32 = 1000;
/// How far back the overview's throughput chart looks, and its bucket.
pub const OVERVIEW_HISTORY: chrono::TimeDelta = chrono::TimeDelta::hours(24);
pub const OVERVIEW_BUCKET: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// How many runs, jobs and failures each list of the overview shows.
pub const OVERVIEW_RUNNING: u32 = 50;
pub const OVERVIEW_LIST: u32 = 10;

/// Every attempt of one occurrence of a job, first attempt first.
#[derive(Debug, Clone, PartialEq)]
pub struct Occurrence {
    pub job: Job,
    pub scheduled_at: DateTime<Utc>,
    pub runs: Vec<Run>,
    /// The `Idempotency-Key` every attempt carried: `<job_id>:<scheduled_for>`.
    pub idempotency_key: String,
}

/// A scheduler node with the number of runs it is running and how it is doing.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeStatus {
    pub node: NodeInfo,
    pub running: u64,
    pub condition: NodeCondition,
    /// What is wrong, in words: the node's own problems, or how long it has been silent.
    pub problems: Vec<String>,
}

/// How a scheduler node is doing, judged from the `nodes` table alone (the console cannot
/// reach the nodes): the age of its heartbeat, and what it said about itself with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeCondition {
    /// It heartbeats on time and reports no problem.
    Healthy,
    /// It heartbeats on time but reports problems (its `/healthz` answers 503): a loop that
    /// fails, a database that stalls, results waiting to be recorded.
    Unhealthy,
    /// No heartbeat for several of its periods: it died, hangs, or cannot reach the database.
    /// Its runs are recovered once their leases expire.
    Silent,
    /// It stopped cleanly.
    Stopped,
}

text_enum!(NodeCondition, "node condition", {
    Healthy => "healthy",
    Unhealthy => "unhealthy",
    Silent => "silent",
    Stopped => "stopped",
});

/// Heartbeats a node may miss before it counts as silent: one can be late by a whole period
/// (a slow renewal), the next by a database call's stall limit.
pub const SILENT_AFTER_HEARTBEATS: u32 = 3;
/// The silence limit for a node that does not say how often it heartbeats (versions before
/// node health was reported): its default lease is 30 s, renewed every 10 s.
pub const SILENT_AFTER_DEFAULT: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

impl NodeStatus {
    /// Judges `node` at `now`: stopped, silent (its heartbeat is older than
    /// [`SILENT_AFTER_HEARTBEATS`] of its periods), or as healthy as it said it was.
    pub fn judge(node: NodeInfo, running: u64, now: DateTime<Utc>) -> NodeStatus {
        let silent_after = node.health.as_ref().map_or(SILENT_AFTER_DEFAULT, |health| {
            let every = i64::try_from(health.heartbeat_every_ms).unwrap_or(i64::MAX / 4);
            chrono::TimeDelta::milliseconds(
                every.saturating_mul(i64::from(SILENT_AFTER_HEARTBEATS)),
            )
        });
        let age = now - node.heartbeat_at;
        let (condition, problems) = if node.stopped_at.is_some() {
            (NodeCondition::Stopped, Vec::new())
        } else if age > silent_after {
            let problem = format!(
                "no heartbeat for {} s (silent after {} s): the node stopped, hangs or cannot \
                 reach the database",
                age.num_seconds(),
                silent_after.num_seconds()
            );
            (NodeCondition::Silent, vec![problem])
        } else {
            match &node.health {
                Some(health) if !health.healthy => {
                    (NodeCondition::Unhealthy, health.problems.clone())
                }
                _ => (NodeCondition::Healthy, Vec::new()),
            }
        };
        NodeStatus { node, running, condition, problems }
    }
}

/// What the console's overview shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    pub now: DateTime<Utc>,
    /// Every tenant with its counts (queued, running, failed in the last [`RECENT_FAILURES`]).
    pub tenants: Vec<TenantOverview>,
    /// Runs running now, oldest occurrence first (at most [`OVERVIEW_RUNNING`]).
    pub running: Vec<Run>,
    /// The latest failed runs.
    pub recent_failures: Vec<Run>,
    /// Jobs Rota disabled after failures, most recently changed first.
    pub auto_disabled: Vec<Job>,
    /// Enabled, unpaused jobs that run next, soonest first.
    pub next_runs: Vec<Job>,
    pub nodes: Vec<NodeStatus>,
    /// Runs started per [`OVERVIEW_BUCKET`] over the last [`OVERVIEW_HISTORY`], with lateness.
    pub buckets: Vec<RunBucket>,
    pub bucket_from: DateTime<Utc>,
}

impl<S: Store> Rota<S> {
    /// Everything the console's overview shows, read at once.
    pub async fn overview(&self) -> Result<Overview> {
        let now = self.now();
        let running = self
            .store
            .list_runs(&RunFilter {
                status: Some(crate::run::RunStatus::Running),
                limit: Some(OVERVIEW_RUNNING),
                ..RunFilter::default()
            })
            .await?;
        let recent_failures = self
            .store
            .list_runs(&RunFilter {
                status: Some(crate::run::RunStatus::Failed),
                limit: Some(OVERVIEW_LIST),
                ..RunFilter::default()
            })
            .await?;
        let auto_disabled = self
            .store
            .job_page(&JobQuery {
                state: Some(JobStateFilter::AutoDisabled),
                sort: JobSort::Updated,
                descending: true,
                limit: OVERVIEW_LIST,
                ..JobQuery::default()
            })
            .await?
            .jobs;
        let horizon = now + chrono::TimeDelta::days(366);
        let next_runs = self.store.jobs_due_before(horizon, None, None, OVERVIEW_LIST).await?;
        let nodes = self.list_nodes().await?;
        // Buckets aligned to the clock (15-minute marks), ending with the current one.
        let bucket_ms = i64::try_from(OVERVIEW_BUCKET.as_millis()).unwrap_or(i64::MAX);
        let start_ms = (now - OVERVIEW_HISTORY).timestamp_millis();
        let bucket_from =
            DateTime::from_timestamp_millis(start_ms - start_ms.rem_euclid(bucket_ms))
                .unwrap_or(now - OVERVIEW_HISTORY);
        let buckets = self
            .store
            .run_buckets(bucket_from, now + chrono::TimeDelta::milliseconds(1), OVERVIEW_BUCKET)
            .await?;
        Ok(Overview {
            now,
            tenants: self.store.tenant_overview(now - RECENT_FAILURES).await?,
            running,
            recent_failures,
            auto_disabled,
            next_runs,
            nodes,
            buckets,
            bucket_from,
        })
    }

    /// Every tenant, by name, with its live counts (failures of the last [`RECENT_FAILURES`]).
    pub async fn tenant_overview(&self) -> Result<Vec<TenantOverview>> {
        self.store.tenant_overview(self.now() - RECENT_FAILURES).await
    }

    /// One tenant's line of [`Rota::tenant_overview`].
    pub async fn tenant_overview_of(&self, name: &str) -> Result<TenantOverview> {
        self.tenant_overview()
            .await?
            .into_iter()
            .find(|overview| overview.tenant.name == name)
            .ok_or_else(|| Error::NotFound { what: "tenant", key: name.to_owned() })
    }

    /// One page of jobs, filtered, sorted and counted by the database.
    pub async fn job_page(&self, query: &JobQuery) -> Result<JobPage> {
        check_limit("limit", query.limit, MAX_JOB_PAGE)?;
        if query.search.as_ref().is_some_and(|search| search.chars().count() > 200) {
            return Err(Error::invalid("search", "(long text)", "must be at most 200 characters"));
        }
        if query.after.as_ref().is_some_and(|cursor| !cursor.fits(query.sort, query.descending)) {
            return Err(Error::invalid(
                "cursor",
                "(cursor)",
                "belongs to another sort order; start again from the first page",
            ));
        }
        self.store.job_page(query).await
    }

    /// Jobs Rota disabled after failures, most recently changed first (at most `limit`, 1 to
    /// [`MAX_JOB_PAGE`]).
    pub async fn auto_disabled_jobs(&self, limit: u32) -> Result<Vec<Job>> {
        let query = JobQuery {
            state: Some(JobStateFilter::AutoDisabled),
            sort: JobSort::Updated,
            descending: true,
            limit,
            ..JobQuery::default()
        };
        Ok(self.job_page(&query).await?.jobs)
    }

    /// A job's latest runs, newest occurrence first (at most `limit`, 1 to [`MAX_JOB_RUNS`]).
    pub async fn job_runs(&self, job_id: Uuid, limit: u32) -> Result<Vec<Run>> {
        check_limit("limit", limit, MAX_JOB_RUNS)?;
        let filter = RunFilter { job_id: Some(job_id), limit: Some(limit), ..RunFilter::default() };
        self.store.list_runs(&filter).await
    }

    /// Every attempt of the occurrence `run_id` belongs to. A test run is no job's occurrence:
    /// `NotFound` (read it with [`Rota::run`]).
    pub async fn occurrence(&self, run_id: Uuid) -> Result<Occurrence> {
        let run = self.store.run(run_id).await?;
        let job_id = run
            .job_id
            .ok_or_else(|| Error::NotFound { what: "occurrence", key: run_id.to_string() })?;
        let job = self.store.job(job_id).await?;
        let runs = self.store.occurrence_runs(job_id, run.scheduled_at).await?;
        let idempotency_key =
            format!("{}:{}", job_id, crate::handler::envelope::format_instant(run.scheduled_at));
        Ok(Occurrence { job, scheduled_at: run.scheduled_at, runs, idempotency_key })
    }

    /// The runs of a window (at most `query.limit`, 1 to [`crate::timeline::MAX_SPANS`]) and,
    /// where the window reaches past now, the runs the schedules will make in it.
    pub async fn timeline(&self, query: &SpanQuery) -> Result<Timeline> {
        crate::timeline::validate_window(query.from, query.to)?;
        check_limit("limit", query.limit, crate::timeline::MAX_SPANS)?;
        let now = self.now();
        let limit = query.limit as usize;
        let mut spans =
            self.store.run_spans(&SpanQuery { limit: query.limit + 1, ..query.clone() }).await?;
        let truncated = spans.len() > limit;
        spans.truncate(limit);
        let (projections, projections_truncated) = if query.to > now {
            let most = crate::timeline::MAX_PROJECTED_JOBS;
            let mut jobs = self
                .store
                .jobs_due_before(query.to, query.tenant.as_deref(), query.job_id, most + 1)
                .await?;
            let jobs_cut = jobs.len() > most as usize;
            jobs.truncate(most as usize);
            let since = now - crate::timeline::DURATION_HISTORY;
            let durations = self.store.average_durations(since).await?.into_iter().collect();
            // Calendars are read only when a projected job has some.
            let mut calendars = crate::calendars::CalendarBook::default();
            let with_calendars = jobs.iter().any(|job| {
                !job.policy.exclude_calendars.is_empty() || job.policy.only_calendar.is_some()
            });
            if with_calendars {
                for stored in self.store.list_calendars(None).await? {
                    calendars.insert(&stored);
                }
            }
            let (projections, cut) =
                crate::timeline::project(&jobs, &durations, &calendars, query.from, query.to, now);
            (projections, cut || jobs_cut)
        } else {
            (Vec::new(), false)
        };
        Ok(Timeline {
            from: query.from,
            to: query.to,
            now,
            spans,
            truncated,
            projections,
            projections_truncated,
        })
    }

    /// The scheduler nodes that reported a heartbeat, with the number of runs each is running
    /// and how each is doing ([`NodeStatus::judge`]).
    pub async fn list_nodes(&self) -> Result<Vec<NodeStatus>> {
        let now = self.now();
        let running_by_node: std::collections::HashMap<String, u64> =
            self.store.running_by_node().await?.into_iter().collect();
        Ok(self
            .store
            .list_nodes()
            .await?
            .into_iter()
            .map(|node| {
                let running = running_by_node.get(&node.id).copied().unwrap_or(0);
                NodeStatus::judge(node, running, now)
            })
            .collect())
    }

    /// What changed since `cursor` (runs created, started, finished; job and tenant edits; node
    /// heartbeats), moving the cursor. The first call only sets the cursor.
    pub async fn changes(&self, cursor: &mut ChangeCursor) -> Result<Changes> {
        let now = self.now();
        let since = cursor.at.unwrap_or(now) - crate::timeline::CHANGE_MARGIN;
        let most = crate::timeline::MAX_CHANGES;
        let watched = &cursor.running[..cursor.running.len().min(crate::timeline::MAX_WATCHED)];
        let mut runs = self.store.changed_runs(since, since, watched, most + 1).await?;
        // The watched runs come on top of the ranges' limit.
        let cap = most as usize + watched.len();
        let truncated = runs.len() > cap;
        runs.truncate(cap);
        let marks = self.store.change_marks().await?;
        Ok(crate::timeline::fold_changes(cursor, now, runs, truncated, marks))
    }
}
