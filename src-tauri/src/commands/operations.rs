//! Operating jobs: pause and resume, disable and re-enable (with the operator's name and
//! optional probation), the auto-disabled list, and backfills with a preview.

use rota::api::BackfillRequest;
use rota::job::Job;
use serde::Serialize;
use specta::Type;
use tauri::State;

use super::jobs::JobDetail;
use super::runs::parse_instant;
use super::{instant, parse_id};
use crate::console::Console;
use crate::error::CommandError;

/// A job Rota switched off after failures, as the auto-disabled list shows it.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DisabledJob {
    pub id: String,
    pub tenant: String,
    pub name: String,
    pub schedule: String,
    pub timezone: String,
    /// The error of the last failed occurrence.
    pub last_error: Option<String>,
    /// Failed occurrences in a row.
    pub consecutive_failures: u32,
    /// It was on probation (re-enabled after an earlier auto-disable) when it failed.
    pub on_probation: bool,
    /// Who enabled it the last time, if anyone did.
    pub enabled_by: Option<String>,
    /// When it was last changed: when it was disabled, unless edited since.
    pub disabled_at: String,
}

impl From<Job> for DisabledJob {
    fn from(job: Job) -> Self {
        DisabledJob {
            id: job.id.to_string(),
            tenant: job.tenant,
            name: job.name,
            schedule: job.schedule,
            timezone: job.timezone,
            last_error: rota::redact::optional_text(job.last_error),
            consecutive_failures: job.consecutive_failures,
            on_probation: job.on_probation,
            enabled_by: job.enabled_by,
            disabled_at: instant(job.updated_at),
        }
    }
}

/// The most jobs the auto-disabled list shows.
const AUTO_DISABLED_LIST: u32 = 500;

/// Jobs Rota disabled after failures, most recent first.
#[tauri::command]
#[specta::specta]
pub async fn list_auto_disabled(
    console: State<'_, Console>,
) -> Result<Vec<DisabledJob>, CommandError> {
    let rota = console.rota().await?;
    let jobs = rota.auto_disabled_jobs(AUTO_DISABLED_LIST).await?;
    Ok(jobs.into_iter().map(DisabledJob::from).collect())
}

/// The name the console's changes are recorded under in the audit log (the operator setting,
/// else `$ROTA_OPERATOR`, else the user running the console): also the default operator of
/// Re-enable and Disable.
#[tauri::command]
#[specta::specta]
pub async fn operator_name(console: State<'_, Console>) -> Result<String, CommandError> {
    console.operator()
}

/// Saves the operator name (in the console's settings, not with secrets) and records this
/// session's changes under it; `null` or blank goes back to the OS user. Returns the name now
/// in effect.
#[tauri::command]
#[specta::specta]
pub async fn set_operator_name(
    console: State<'_, Console>,
    name: Option<String>,
) -> Result<String, CommandError> {
    console.set_operator(name.as_deref()).await
}

/// Pauses a job: it is not due until resumed (what it misses meanwhile follows its missed-run
/// policy).
#[tauri::command]
#[specta::specta]
pub async fn pause_job(console: State<'_, Console>, id: String) -> Result<JobDetail, CommandError> {
    let rota = console.rota().await?;
    let job = rota.pause_job(parse_id(&id)?).await?;
    console.schedules_changed().await;
    Ok(job.into())
}

#[tauri::command]
#[specta::specta]
pub async fn resume_job(
    console: State<'_, Console>,
    id: String,
) -> Result<JobDetail, CommandError> {
    let rota = console.rota().await?;
    let job = rota.resume_job(parse_id(&id)?).await?;
    console.schedules_changed().await;
    Ok(job.into())
}

/// Enables a disabled job again, recorded under `operator`; its next run is computed from now.
/// With `probation`, its next failed occurrence disables it again.
#[tauri::command]
#[specta::specta]
pub async fn enable_job(
    console: State<'_, Console>,
    id: String,
    operator: String,
    probation: bool,
) -> Result<JobDetail, CommandError> {
    let rota = console.rota().await?;
    let job = rota.enable_job(parse_id(&id)?, &operator, probation).await?;
    console.schedules_changed().await;
    Ok(job.into())
}

/// Disables a job, recorded under `operator` with an optional reason.
#[tauri::command]
#[specta::specta]
pub async fn disable_job(
    console: State<'_, Console>,
    id: String,
    operator: String,
    reason: Option<String>,
) -> Result<JobDetail, CommandError> {
    let rota = console.rota().await?;
    let reason = reason.filter(|reason| !reason.trim().is_empty());
    let job = rota.disable_job(parse_id(&id)?, &operator, reason.as_deref()).await?;
    console.schedules_changed().await;
    Ok(job.into())
}

/// What a backfill would queue.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BackfillPreview {
    /// Occurrences of the schedule in the range (runs already present are not queued again).
    pub occurrences: u32,
    /// The first few occurrences, RFC 3339.
    pub first: Vec<String>,
    pub last: Option<String>,
}

/// How many of the preview's occurrences the first list shows.
const PREVIEW_FIRST: usize = 5;

/// The occurrences of the job's schedule in `[from, to]` (in the past): what `backfill_job`
/// would queue. A range with more than 1,000 occurrences is refused.
#[tauri::command]
#[specta::specta]
pub async fn preview_backfill(
    console: State<'_, Console>,
    id: String,
    from: String,
    to: String,
) -> Result<BackfillPreview, CommandError> {
    let rota = console.rota().await?;
    let (from, to) = (parse_instant("from", &from)?, parse_instant("to", &to)?);
    let request = BackfillRequest { from, to, max: None, dry_run: true };
    let occurrences = rota.backfill(parse_id(&id)?, &request).await?.occurrences;
    Ok(BackfillPreview {
        occurrences: u32::try_from(occurrences.len()).unwrap_or(u32::MAX),
        first: occurrences.iter().take(PREVIEW_FIRST).copied().map(instant).collect(),
        last: occurrences.last().copied().map(instant),
    })
}

/// A range for the backfill form to start from.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BackfillRange {
    /// RFC 3339: the oldest of the occurrences.
    pub from: String,
    /// RFC 3339: the latest occurrence before now.
    pub to: String,
}

/// How many past occurrences the backfill form covers before anyone types a range.
const DEFAULT_BACKFILL_OCCURRENCES: u32 = 10;

/// The range of the job's last ten occurrences: the backfill form's default, which fits any
/// schedule (an every-minute job gets ten minutes, a monthly one ten months); `null` when the
/// schedule never fired before now.
#[tauri::command]
#[specta::specta]
pub async fn backfill_default_range(
    console: State<'_, Console>,
    id: String,
) -> Result<Option<BackfillRange>, CommandError> {
    let rota = console.rota().await?;
    let range = rota.recent_occurrences(parse_id(&id)?, DEFAULT_BACKFILL_OCCURRENCES).await?;
    Ok(range.map(|(from, to)| BackfillRange { from: instant(from), to: instant(to) }))
}

/// How a backfill went.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BackfillResult {
    pub occurrences: u32,
    /// Runs queued (trigger `backfill`).
    pub queued: u32,
    /// Occurrences that had run, were running or were queued already.
    pub already_present: u32,
}

/// Queues a run for each occurrence in `[from, to]` that has not run; running it twice adds
/// nothing.
#[tauri::command]
#[specta::specta]
pub async fn backfill_job(
    console: State<'_, Console>,
    id: String,
    from: String,
    to: String,
) -> Result<BackfillResult, CommandError> {
    let rota = console.rota().await?;
    let (from, to) = (parse_instant("from", &from)?, parse_instant("to", &to)?);
    let request = BackfillRequest { from, to, max: None, dry_run: false };
    // Not a dry run, so the report is there.
    let report = rota.backfill(parse_id(&id)?, &request).await?.report.unwrap_or_default();
    console.schedules_changed().await;
    let count = |value: u64| u32::try_from(value).unwrap_or(u32::MAX);
    Ok(BackfillResult {
        occurrences: count(report.occurrences),
        queued: count(report.queued),
        already_present: count(report.already_present),
    })
}
