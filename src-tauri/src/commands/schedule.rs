//! The schedule editor's live answers, all from the core's cron engine (the code the scheduler
//! runs): validation, the description, the next runs and the daylight-saving effects, and what
//! the calendars chosen in the form make of each run.

use rota::calendars::{Slot, SlotKind};
use rota::cron::{DstAdjustment, DstEffectKind, JobKind};
use serde::Serialize;
use specta::Type;
use tauri::State;

use super::jobs::CalendarsInput;
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

/// What the calendars chosen in the editor make of a run (as the engine will judge it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CalendarMark {
    /// The occurrence does not run; `noAllowedDay` when it was to move but no day within a
    /// month allowed it.
    Excluded {
        calendar: String,
        /// The event's name; `null` when an only-calendar has no event that day.
        event: Option<String>,
        /// For people: "calendar office: Christmas Day".
        reason: String,
        #[serde(rename = "noAllowedDay")]
        no_allowed_day: bool,
    },
    /// It runs at another instant instead.
    Moved {
        calendar: String,
        event: Option<String>,
        reason: String,
        /// Where it runs, RFC 3339 in UTC, and as clocks read in both zones.
        to: String,
        #[serde(rename = "toJobZone")]
        to_job_zone: String,
        #[serde(rename = "toViewerZone")]
        to_viewer_zone: String,
    },
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
    /// `null`: the calendars leave it alone (or none is chosen).
    pub calendar: Option<CalendarMark>,
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
/// `field` is `schedule` or `timezone`, with the cron field and the span of the bad text. With
/// the form's `tenant` and `calendars`, each run says whether a calendar excludes or moves it
/// (a calendar name that does not exist is `not_found`).
#[tauri::command]
#[specta::specta]
pub async fn preview_schedule(
    console: State<'_, Console>,
    expression: String,
    timezone: String,
    viewer_timezone: String,
    tenant: Option<String>,
    calendars: Option<CalendarsInput>,
) -> Result<SchedulePreview, CommandError> {
    let now = console.now();
    let chosen = calendars
        .filter(|calendars| {
            !calendars.exclude_calendars.is_empty()
                || calendars.only_calendar.as_ref().is_some_and(|name| !name.is_empty())
        })
        .zip(tenant.filter(|tenant| !tenant.is_empty()));
    // Without calendars the preview needs no database (the editor works before connecting).
    let preview = match chosen {
        Some((calendars, tenant)) => {
            let mut policy = rota::policy::JobPolicy::default();
            calendars.apply_to(&mut policy);
            let rota = console.rota().await?;
            rota.preview_schedule_with_calendars(
                &tenant,
                &expression,
                &timezone,
                &viewer_timezone,
                &policy,
                NEXT_RUNS,
            )
            .await
        }
        None => {
            rota::api::preview_schedule(&expression, &timezone, &viewer_timezone, now, NEXT_RUNS)
        }
    };
    let preview = preview.map_err(|error| match &error {
        rota::Error::Schedule(cron) => {
            let text =
                if cron.field() == rota::cron::Field::TimeZone { &timezone } else { &expression };
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
            .zip(&preview.slots)
            .map(|(run, slot)| PreviewRun {
                calendar: calendar_mark(slot, |at| {
                    let job_zone = at.with_timezone(&preview.timezone).format(CLOCK).to_string();
                    let viewer = at.with_timezone(&preview.viewer_timezone).format(CLOCK);
                    (job_zone, viewer.to_string())
                }),
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

/// `clocks` reads an instant in the job's zone and in the viewer's.
fn calendar_mark(
    slot: &Slot,
    clocks: impl Fn(chrono::DateTime<chrono::Utc>) -> (String, String),
) -> Option<CalendarMark> {
    match &slot.kind {
        SlotKind::Run => None,
        SlotKind::Excluded { because, no_allowed_day } => Some(CalendarMark::Excluded {
            calendar: because.calendar.clone(),
            event: because.event.clone(),
            reason: because.to_string(),
            no_allowed_day: *no_allowed_day,
        }),
        SlotKind::Moved { because, .. } => {
            let (to_job_zone, to_viewer_zone) = clocks(slot.at);
            Some(CalendarMark::Moved {
                calendar: because.calendar.clone(),
                event: because.event.clone(),
                reason: because.to_string(),
                to: super::instant(slot.at),
                to_job_zone,
                to_viewer_zone,
            })
        }
    }
}

/// Every IANA zone name, for the zone picker.
#[tauri::command]
#[specta::specta]
pub fn list_time_zones() -> Vec<String> {
    rota::api::time_zone_names().iter().map(|name| (*name).to_owned()).collect()
}
