//! Calendars: the list, importing an iCalendar file (or replacing a calendar's file), and a
//! year of a calendar's days for the year view.

use chrono::NaiveDate;
use rota::api::CalendarSource;
use rota::calendars::StoredCalendar;
use serde::Serialize;
use specta::Type;
use tauri::State;

use super::instant;
use crate::console::Console;
use crate::error::CommandError;

/// A calendar as the calendars table shows it.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CalendarRow {
    pub name: String,
    /// `null`: a shared calendar (admins change it; every tenant's jobs may use it).
    pub tenant: Option<String>,
    pub events: u32,
    pub version: String,
    pub updated_at: String,
}

impl From<&StoredCalendar> for CalendarRow {
    fn from(calendar: &StoredCalendar) -> Self {
        let events = calendar.parse().map(|parsed| parsed.events().len()).unwrap_or(0);
        CalendarRow {
            name: calendar.name.clone(),
            tenant: calendar.tenant.clone(),
            events: u32::try_from(events).unwrap_or(u32::MAX),
            version: calendar.version.to_string(),
            updated_at: instant(calendar.updated_at),
        }
    }
}

/// One whole day a calendar covers, and the event that covers it.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CalendarDay {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub event: String,
}

/// A year of a calendar: its whole days, and its timed events (windows), named.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CalendarYear {
    pub name: String,
    pub tenant: Option<String>,
    pub year: i32,
    pub days: Vec<CalendarDay>,
    /// Timed events: their first start (with its zone, or "floating") and summary.
    pub windows: Vec<String>,
}

/// A tenant's calendars with the shared ones, or every calendar the role may see.
#[tauri::command]
#[specta::specta]
pub async fn list_calendars(
    console: State<'_, Console>,
    tenant: Option<String>,
) -> Result<Vec<CalendarRow>, CommandError> {
    let rota = console.rota().await?;
    let calendars = rota.list_calendars(tenant.as_deref()).await?;
    Ok(calendars.iter().map(CalendarRow::from).collect())
}

/// Stores an iCalendar file's text as a new calendar, or (`replace`) as the new days of an
/// existing one. A bad file is refused with its line and property; nothing is stored.
#[tauri::command]
#[specta::specta]
pub async fn import_calendar(
    console: State<'_, Console>,
    tenant: Option<String>,
    name: String,
    ics: String,
    replace: bool,
) -> Result<CalendarRow, CommandError> {
    let rota = console.rota().await?;
    let source = CalendarSource::Ics(ics);
    let stored = if replace {
        rota.update_calendar(tenant.as_deref(), &name, &source).await?
    } else {
        rota.add_calendar(tenant.as_deref(), &name, &source).await?
    };
    console.schedules_changed().await;
    Ok(CalendarRow::from(&stored))
}

/// The whole days and windows of a calendar in `year`.
#[tauri::command]
#[specta::specta]
pub async fn calendar_year(
    console: State<'_, Console>,
    tenant: Option<String>,
    name: String,
    year: i32,
) -> Result<CalendarYear, CommandError> {
    let rota = console.rota().await?;
    let stored = rota.calendar(tenant.as_deref(), &name).await?;
    let (Some(first), Some(last)) =
        (NaiveDate::from_ymd_opt(year, 1, 1), NaiveDate::from_ymd_opt(year, 12, 31))
    else {
        return Err(CommandError::invalid("year", format!("{year} is out of range")));
    };
    let parsed = stored
        .parse()
        .map_err(|source| rota::Error::Calendar { name: stored.name.clone(), source })?;
    let days = parsed
        .days_between(first, last)
        .into_iter()
        .map(|(date, event)| CalendarDay {
            date: date.format("%Y-%m-%d").to_string(),
            event: event.summary.clone(),
        })
        .collect();
    let windows = parsed
        .events()
        .iter()
        .filter(|event| !event.all_day())
        .map(|event| {
            let start = match event.start {
                rota::calendars::EventTime::Zoned(at) => at.format("%Y-%m-%d %H:%M %Z").to_string(),
                rota::calendars::EventTime::Floating(wall) => {
                    format!("{} (floating)", wall.format("%Y-%m-%d %H:%M"))
                }
                rota::calendars::EventTime::Date(date) => date.to_string(),
            };
            format!("{start}: {}", event.summary)
        })
        .collect();
    Ok(CalendarYear { name: stored.name, tenant: stored.tenant, year, days, windows })
}

/// The job being edited, for the what-if panel.
#[derive(Debug, Clone, serde::Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct WhatIfInput {
    pub tenant: String,
    pub name: String,
    pub schedule: String,
    pub timezone: String,
    pub jitter_window_seconds: Option<u32>,
    /// The saved job being edited (its other policies apply); `null` for a new job.
    pub job_id: Option<String>,
    /// The calendars chosen in the editor.
    pub calendars: super::jobs::CalendarsInput,
}

/// One of the edited job's next starts, with what else starts then.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct WhatIfStartRow {
    pub at: String,
    pub fleet_minute: u32,
    pub tenant_minute: u32,
    pub same_second: u32,
    pub herd: bool,
}

/// The edited job's next starts in the coming day among the fleet's, with this job added.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct WhatIfView {
    pub starts: Vec<WhatIfStartRow>,
    /// A jitter window that spreads the herd a start joins.
    pub suggested_jitter_window_seconds: Option<u32>,
    /// A second with this many starts is a herd.
    pub herd_threshold: u32,
}

fn count(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

/// Starts around the edited job's next occurrences (tenant and fleet), herds flagged.
#[tauri::command]
#[specta::specta]
pub async fn what_if(
    console: State<'_, Console>,
    input: WhatIfInput,
) -> Result<WhatIfView, CommandError> {
    let rota = console.rota().await?;
    let schedule =
        rota::cron::Schedule::parse(&input.schedule, &input.timezone).map_err(rota::Error::from)?;
    let mut policy = match &input.job_id {
        Some(id) => rota.job(super::parse_id(id)?).await?.policy,
        None => rota::policy::JobPolicy::default(),
    };
    input.calendars.apply_to(&mut policy);
    policy.jitter_window = input
        .jitter_window_seconds
        .filter(|seconds| *seconds > 0)
        .map(|seconds| std::time::Duration::from_secs(seconds.into()));
    let what_if = rota.what_if(&input.tenant, &input.name, &schedule, &policy).await?;
    Ok(WhatIfView {
        starts: what_if
            .starts
            .iter()
            .map(|start| WhatIfStartRow {
                at: instant(start.at),
                fleet_minute: count(start.fleet_minute),
                tenant_minute: count(start.tenant_minute),
                same_second: count(start.same_second),
                herd: start.herd,
            })
            .collect(),
        suggested_jitter_window_seconds: what_if.suggested_jitter_window_seconds.map(count),
        herd_threshold: count(rota::forecast::HERD_THRESHOLD),
    })
}
