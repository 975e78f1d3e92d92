//! Runs: a job's runs, the details of an occurrence (every attempt), running a job now, and the
//! timeline (runs of a window and the runs the schedules will make). The transport types here
//! are also what the live updates carry (`crate::live`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rota::api::{RunSpan, SpanQuery, Timeline};
use rota::run::Run;
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::State;
use uuid::Uuid;

use super::{instant, optional_instant, parse_id};
use crate::console::Console;
use crate::error::CommandError;

/// Where a run is in its life (see the run state machine in ARCHITECTURE.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
    Lost,
    Skipped,
    Missed,
}

impl From<rota::run::RunStatus> for RunStatus {
    fn from(status: rota::run::RunStatus) -> Self {
        use rota::run::RunStatus as Core;
        match status {
            Core::Queued => RunStatus::Queued,
            Core::Running => RunStatus::Running,
            Core::Succeeded => RunStatus::Succeeded,
            Core::Failed => RunStatus::Failed,
            Core::TimedOut => RunStatus::TimedOut,
            Core::Cancelled => RunStatus::Cancelled,
            Core::Lost => RunStatus::Lost,
            Core::Skipped => RunStatus::Skipped,
            Core::Missed => RunStatus::Missed,
        }
    }
}

/// How a run came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Schedule,
    Manual,
    Retry,
    Recovery,
    Backfill,
    /// The job editor's test run of an unsaved definition.
    Test,
}

impl From<rota::run::Trigger> for Trigger {
    fn from(trigger: rota::run::Trigger) -> Self {
        use rota::run::Trigger as Core;
        match trigger {
            Core::Schedule => Trigger::Schedule,
            Core::Manual => Trigger::Manual,
            Core::Retry => Trigger::Retry,
            Core::Recovery => Trigger::Recovery,
            Core::Backfill => Trigger::Backfill,
            Core::Test => Trigger::Test,
        }
    }
}

/// What kept a ready run from starting at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum WaitedFor {
    /// The tenant had `max_concurrent` runs running.
    TenantLimit,
    /// The tenant had used up its rate limit.
    RateLimit,
    /// Another run of the job was running (overlap policy).
    Overlap,
}

impl From<rota::run::WaitedFor> for WaitedFor {
    fn from(waited: rota::run::WaitedFor) -> Self {
        match waited {
            rota::run::WaitedFor::TenantLimit => WaitedFor::TenantLimit,
            rota::run::WaitedFor::RateLimit => WaitedFor::RateLimit,
            rota::run::WaitedFor::Overlap => WaitedFor::Overlap,
        }
    }
}

/// Milliseconds since the Unix epoch, for drawing (a JavaScript number holds them exactly).
pub(crate) fn epoch_ms(at: DateTime<Utc>) -> f64 {
    at.timestamp_millis() as f64
}

/// One attempt of an occurrence, as lists show it.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RunRow {
    pub id: String,
    /// `None` for a test run: it ran a definition no job holds.
    pub job_id: Option<String>,
    pub job: String,
    pub tenant: String,
    /// The occurrence this attempt is for.
    pub scheduled_at: String,
    pub trigger: Trigger,
    pub attempt: u32,
    pub status: RunStatus,
    pub queued_at: String,
    /// When it became ready (after a retry's backoff or a job's jitter).
    pub not_before: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub duration_ms: Option<f64>,
    /// Started minus scheduled.
    pub lateness_ms: Option<f64>,
    /// The node that ran (or runs) it: the claim's lease owner.
    pub node: Option<String>,
    pub exit_code: Option<i32>,
    pub http_status: Option<i32>,
    /// Why it was skipped, missed, cancelled or queued late.
    pub reason: Option<String>,
    pub waited_for: Option<WaitedFor>,
    /// The first line of the error, if any.
    pub error_summary: Option<String>,
}

impl From<&Run> for RunRow {
    fn from(run: &Run) -> Self {
        RunRow {
            id: run.id.to_string(),
            job_id: run.job_id.map(|id| id.to_string()),
            job: run.job.clone(),
            tenant: run.tenant.clone(),
            scheduled_at: instant(run.scheduled_at),
            trigger: run.trigger.into(),
            attempt: run.attempt,
            status: run.status.into(),
            queued_at: instant(run.queued_at),
            not_before: instant(run.not_before),
            started_at: optional_instant(run.started_at),
            finished_at: optional_instant(run.finished_at),
            duration_ms: run.duration_ms.map(|ms| ms as f64),
            lateness_ms: run
                .started_at
                .map(|started| (started - run.scheduled_at).num_milliseconds() as f64),
            node: run.lease_owner.clone(),
            exit_code: run.exit_code,
            http_status: run.http_status,
            reason: run.reason.clone(),
            waited_for: run.waited_for.map(WaitedFor::from),
            error_summary: run
                .error
                .as_deref()
                .and_then(|error| error.lines().next())
                .map(|line| rota::redact::text(line).into_owned()),
        }
    }
}

/// One attempt with everything it recorded.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RunAttempt {
    pub run: RunRow,
    /// The tail of what it printed (or the start of the HTTP response body).
    pub output: Option<String>,
    /// The tail of its error.
    pub error: Option<String>,
    /// The payload override of this run (a manual run's edited payload), pretty-printed.
    pub payload_override: Option<String>,
    pub lease_expires_at: Option<String>,
    /// The stop the tick asked for (overlap `cancel_previous`).
    pub cancel_requested: bool,
}

/// Every attempt of one occurrence of a job.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct OccurrenceDetail {
    pub job_id: String,
    pub job: String,
    pub tenant: String,
    pub scheduled_at: String,
    /// The `Idempotency-Key` each attempt carried: `<job_id>:<scheduled_for>`.
    pub idempotency_key: String,
    /// The job's payload now (what an attempt without an override was sent, unless the job was
    /// edited since), pretty-printed.
    pub job_payload: String,
    pub attempts: Vec<RunAttempt>,
}

impl From<&Run> for RunAttempt {
    fn from(run: &Run) -> Self {
        RunAttempt {
            run: run.into(),
            output: rota::redact::optional_text(run.output.clone()),
            error: rota::redact::optional_text(run.error.clone()),
            payload_override: run.payload.as_ref().map(pretty),
            lease_expires_at: optional_instant(run.lease_expires_at),
            cancel_requested: run.cancel_requested,
        }
    }
}

fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// A job's latest runs, newest occurrence first.
#[tauri::command]
#[specta::specta]
pub async fn list_job_runs(
    console: State<'_, Console>,
    job_id: String,
    limit: u32,
) -> Result<Vec<RunRow>, CommandError> {
    let rota = console.rota().await?;
    let runs = rota.job_runs(parse_id(&job_id)?, limit).await?;
    Ok(runs.iter().map(RunRow::from).collect())
}

/// Every attempt of the occurrence `runId` belongs to.
#[tauri::command]
#[specta::specta]
pub async fn get_occurrence(
    console: State<'_, Console>,
    run_id: String,
) -> Result<OccurrenceDetail, CommandError> {
    let rota = console.rota().await?;
    let occurrence = rota.occurrence(parse_id(&run_id)?).await?;
    Ok(OccurrenceDetail {
        job_id: occurrence.job.id.to_string(),
        job: occurrence.job.name.clone(),
        tenant: occurrence.job.tenant.clone(),
        scheduled_at: instant(occurrence.scheduled_at),
        idempotency_key: occurrence.idempotency_key,
        job_payload: pretty(&occurrence.job.payload),
        attempts: occurrence.runs.iter().map(RunAttempt::from).collect(),
    })
}

/// One run as it is now, with what it recorded: how the job editor follows its test run.
#[tauri::command]
#[specta::specta]
pub async fn get_run(
    console: State<'_, Console>,
    run_id: String,
) -> Result<RunAttempt, CommandError> {
    let rota = console.rota().await?;
    Ok(RunAttempt::from(&rota.run(parse_id(&run_id)?).await?))
}

/// Queues a run of the job now; `payload` (JSON text, checked by the core) replaces the job's
/// payload for this run only.
#[tauri::command]
#[specta::specta]
pub async fn run_job_now(
    console: State<'_, Console>,
    job_id: String,
    payload: Option<String>,
) -> Result<RunRow, CommandError> {
    let rota = console.rota().await?;
    let payload = payload.as_deref().map(rota::api::parse_payload).transpose()?;
    let run = rota.trigger(parse_id(&job_id)?, payload.as_ref()).await?;
    console.schedules_changed().await;
    Ok(RunRow::from(&run))
}

/// Which runs the timeline shows.
#[derive(Debug, Clone, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TimelineQuery {
    /// RFC 3339 instants; at most 45 days apart.
    pub from: String,
    pub to: String,
    pub tenant: Option<String>,
    pub job_id: Option<String>,
    /// At most this many runs (up to 100,000).
    pub limit: u32,
}

/// A lane of the timeline: one job.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Lane {
    pub job_id: String,
    pub job: String,
    pub tenant: String,
}

/// The runs of a window, column by column (50,000 runs travel as a few arrays, not 50,000
/// objects). Row `i` is the run `ids[i]` in lane `lane[i]`, drawn from `beginMs[i]` to `endMs[i]`
/// (milliseconds since the epoch; a run still running ends at `nowMs`).
#[derive(Debug, Clone, Default, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SpanColumns {
    pub ids: Vec<String>,
    pub lane: Vec<u32>,
    pub begin_ms: Vec<f64>,
    pub end_ms: Vec<f64>,
    pub status: Vec<RunStatus>,
    /// The occurrence each run is for (a bar's hover details: scheduled, late by).
    pub scheduled_ms: Vec<f64>,
    /// When it started; `null` for a run that has not (queued, skipped, missed).
    pub started_ms: Vec<Option<f64>>,
}

/// Runs the schedules will make, column by column: lane, instant, and the job's average
/// duration (0 when it has none yet).
#[derive(Debug, Clone, Default, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct GhostColumns {
    pub lane: Vec<u32>,
    pub at_ms: Vec<f64>,
    pub expected_ms: Vec<f64>,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TimelineData {
    pub from_ms: f64,
    pub to_ms: f64,
    pub now_ms: f64,
    /// Jobs with runs or projected runs in the window, by tenant and name.
    pub lanes: Vec<Lane>,
    pub spans: SpanColumns,
    /// More runs fall in the window than the limit; the earliest are shown.
    pub truncated: bool,
    pub ghosts: GhostColumns,
    pub ghosts_truncated: bool,
}

pub(crate) fn parse_instant(field: &str, text: &str) -> Result<DateTime<Utc>, CommandError> {
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.to_utc())
        .map_err(|_| CommandError::invalid(field, format!("{text:?} is not an RFC 3339 instant")))
}

/// Numbers the lanes (jobs) of a timeline, by tenant and name.
fn lanes_of(timeline: &Timeline) -> (Vec<Lane>, HashMap<Uuid, u32>) {
    let mut jobs: Vec<(String, String, Uuid)> = timeline
        .spans
        .iter()
        .map(|span| (span.tenant.clone(), span.job.clone(), span.job_id))
        .chain(
            timeline
                .projections
                .iter()
                .map(|ghost| (ghost.tenant.clone(), ghost.job.clone(), ghost.job_id)),
        )
        .collect();
    jobs.sort();
    jobs.dedup_by_key(|(_, _, id)| *id);
    let index = jobs
        .iter()
        .enumerate()
        .map(|(number, (_, _, id))| (*id, u32::try_from(number).unwrap_or(u32::MAX)))
        .collect();
    let lanes = jobs
        .into_iter()
        .map(|(tenant, job, id)| Lane { job_id: id.to_string(), job, tenant })
        .collect();
    (lanes, index)
}

fn span_columns(spans: &[RunSpan], index: &HashMap<Uuid, u32>, now: DateTime<Utc>) -> SpanColumns {
    let mut columns = SpanColumns::default();
    for span in spans {
        columns.ids.push(span.id.to_string());
        columns.lane.push(index.get(&span.job_id).copied().unwrap_or(0));
        columns.begin_ms.push(epoch_ms(span.begins_at()));
        columns.end_ms.push(epoch_ms(span.ends_at(now)));
        columns.status.push(span.status.into());
        columns.scheduled_ms.push(epoch_ms(span.scheduled_at));
        columns.started_ms.push(span.started_at.map(epoch_ms));
    }
    columns
}

/// The runs of a window, and the runs the schedules will make in it (ghosts).
#[tauri::command]
#[specta::specta]
pub async fn timeline(
    console: State<'_, Console>,
    query: TimelineQuery,
) -> Result<TimelineData, CommandError> {
    let rota = console.rota().await?;
    let job_id = query.job_id.as_deref().filter(|id| !id.is_empty()).map(parse_id).transpose()?;
    let span_query = SpanQuery {
        from: parse_instant("from", &query.from)?,
        to: parse_instant("to", &query.to)?,
        tenant: query.tenant.filter(|tenant| !tenant.is_empty()),
        job_id,
        limit: query.limit,
    };
    let timeline = rota.timeline(&span_query).await?;
    let (lanes, index) = lanes_of(&timeline);
    let mut ghosts = GhostColumns::default();
    for ghost in &timeline.projections {
        ghosts.lane.push(index.get(&ghost.job_id).copied().unwrap_or(0));
        ghosts.at_ms.push(epoch_ms(ghost.at));
        ghosts.expected_ms.push(ghost.expected.map_or(0.0, |expected| expected.as_millis() as f64));
    }
    Ok(TimelineData {
        from_ms: epoch_ms(timeline.from),
        to_ms: epoch_ms(timeline.to),
        now_ms: epoch_ms(timeline.now),
        spans: span_columns(&timeline.spans, &index, timeline.now),
        lanes,
        truncated: timeline.truncated,
        ghosts,
        ghosts_truncated: timeline.projections_truncated,
    })
}
