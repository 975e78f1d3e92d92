//! The schedule editor's live answers, all from the core's cron engine (the code the scheduler
//! runs): validation, the description, the next runs and the daylight-saving effects.

use rota::cron::{DstAdjustment, DstEffectKind, JobKind};
use serde::Serialize;
use specta::Type;
use tauri::State;

use crate::console::Console;
use crate::error::{schedule_error, CommandError};

/// How many next runs the editor lists.
const NEXT_RUNS: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    /// Minute or hour starts with `*`: runs at every real instant whose wall time matches.
    Wildcard,
    /// Runs once per matching wall time, even across daylight-saving changes.
    FixedTime,
    /// `@every`: a fixed interval, unaffected by daylight saving.
    Interval,
}

/// How daylight saving shaped one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunNote {
    /// The matching wall time (`nominal`, "02:30") does not exist that day; it runs at the
    /// transition instead.
    MovedFromGap { nominal: String },
    /// Several matching wall times of a gap run once, here.
    MergedInGap { count: u32 },
    /// A wall time that happens twice; it runs in this, the first, pass only.
    FirstPassOnly,
    /// The second pass of a repeated wall time.
    SecondPass,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct PreviewRun {
    /// The instant, RFC 3339 in UTC.
    pub at: String,
    /// The clock reading in the job's zone ("2026-03-29 03:00 CEST").
    pub job_zone: String,
    /// The clock reading in the viewer's zone.
    pub viewer_zone: String,
    pub note: Option<RunNote>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum DstWarningKind {
    MovedToTransition,
    Skipped,
    RunsOnce,
    RunsTwice,
    Other,
}

/// A daylight-saving transition in the next year that changes when the job runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct DstWarning {
    /// The local date, `YYYY-MM-DD`.
    pub date: String,
    pub kind: DstWarningKind,
    /// The explanation, for people ("2026-03-29: 02:30 does not exist, runs at 03:00 CEST").
    pub message: String,
    /// The instant the offset changes, RFC 3339 in UTC.
    pub transition_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct SchedulePreview {
    pub description: String,
    pub kind: ScheduleKind,
    pub timezone: String,
    pub viewer_timezone: String,
    pub runs: Vec<PreviewRun>,
    pub dst_warnings: Vec<DstWarning>,
}

const CLOCK: &str = "%a %Y-%m-%d %H:%M:%S %Z";

/// Validates a schedule and explains it. An invalid expression or zone is an error whose
/// `field` is `schedule` or `timezone`, with the cron field and the span of the bad text.
#[tauri::command]
#[specta::specta]
pub async fn preview_schedule(
    console: State<'_, Console>,
    expression: String,
    timezone: String,
    viewer_timezone: String,
) -> Result<SchedulePreview, CommandError> {
    let now = console.now();
    let preview =
        rota::api::preview_schedule(&expression, &timezone, &viewer_timezone, now, NEXT_RUNS)
            .map_err(|error| match &error {
                rota::Error::Schedule(cron) => {
                    let text = if cron.field() == rota::cron::Field::TimeZone {
                        &timezone
                    } else {
                        &expression
                    };
                    schedule_error(cron, Some(text))
                }
                _ => CommandError::from(error),
            })?;
    Ok(SchedulePreview {
        description: preview.description,
        kind: match preview.kind {
            JobKind::Wildcard => ScheduleKind::Wildcard,
            JobKind::FixedTime => ScheduleKind::FixedTime,
            JobKind::Interval => ScheduleKind::Interval,
        },
        timezone: preview.timezone.name().to_owned(),
        viewer_timezone: preview.viewer_timezone.name().to_owned(),
        runs: preview
            .runs
            .iter()
            .map(|run| PreviewRun {
                at: super::instant(run.at),
                job_zone: run.at.with_timezone(&preview.timezone).format(CLOCK).to_string(),
                viewer_zone: run
                    .at
                    .with_timezone(&preview.viewer_timezone)
                    .format(CLOCK)
                    .to_string(),
                note: match run.dst {
                    DstAdjustment::None => None,
                    DstAdjustment::MovedFromGap { nominal } => Some(RunNote::MovedFromGap {
                        nominal: nominal.format("%H:%M:%S").to_string(),
                    }),
                    DstAdjustment::MergedInGap { count } => Some(RunNote::MergedInGap { count }),
                    DstAdjustment::FirstPassOnly => Some(RunNote::FirstPassOnly),
                    DstAdjustment::SecondPass => Some(RunNote::SecondPass),
                },
            })
            .collect(),
        dst_warnings: preview
            .dst_effects
            .iter()
            .map(|effect| DstWarning {
                date: effect.date.format("%Y-%m-%d").to_string(),
                kind: match effect.kind {
                    DstEffectKind::MovedToTransition => DstWarningKind::MovedToTransition,
                    DstEffectKind::Skipped => DstWarningKind::Skipped,
                    DstEffectKind::RunsOnce => DstWarningKind::RunsOnce,
                    DstEffectKind::RunsTwice => DstWarningKind::RunsTwice,
                    _ => DstWarningKind::Other,
                },
                message: effect.to_string(),
                transition_at: super::instant(effect.transition),
            })
            .collect(),
    })
}

/// Every IANA zone name, for the zone picker.
#[tauri::command]
#[specta::specta]
pub fn list_time_zones() -> Vec<String> {
    rota::api::time_zone_names().iter().map(|name| (*name).to_owned()).collect()
}
