//! Holiday and blackout calendars: named sets of days and time windows, read from iCalendar
//! (RFC 5545) files, and the rule that keeps a job's occurrences off them.
//!
//! (Not to be confused with `cron::calendar`, the integer day arithmetic of the cron matcher.)
//!
//! - `ics`: an iCalendar file to [`Calendar`]: icalendar's parser reads the content lines
//!   (folding, CRLF, parameters); this module keeps the line numbers of the original file so
//!   every error names its line and property, and interprets `DTSTART`, `DTEND`, `DURATION`,
//!   `RRULE` (through the rrule crate), `EXDATE`, `RDATE`, `TZID`, `RECURRENCE-ID` and
//!   `STATUS:CANCELLED`.
//! - `events`: the calendar model ([`Calendar`], [`Event`]), its expansion into the days and
//!   windows of one year (cached per year, so a lookup is a map probe) and the questions the
//!   rule asks: which event covers this day, or this instant, in a job's zone.
//! - `rule`: [`CalendarRule`] (exclude calendars, an only-calendar, `skip|next|previous`) applied
//!   to a cron [`Schedule`](crate::cron::Schedule): [`Timetable`] gives the slots a job really
//!   has (runs, moved runs with their origin, excluded occurrences with the calendar and
//!   event), which the engine's tick, `rota cron next --exclude-ics`, the forecast and the
//!   console's previews all use.
//!
//! Pure: no clock and no I/O (a calendar's text comes in as a string).

mod book;
mod events;
mod ics;
mod rule;

pub use book::{CalendarBook, CalendarVersion};
pub use events::{Calendar, Event, EventTime};
pub use ics::{dates_calendar, parse_ics, CalendarError};
pub use rule::{
    CalendarRule, CalendarVerdict, ExcludedDay, NamedCalendar, OnExcluded, Slot, SlotKind,
    Timetable, MAX_MOVE_DAYS,
};

#[cfg(test)]
mod tests;

/// A calendar as Rota keeps it: per tenant, or shared (`tenant` is `None`) and kept by admins.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredCalendar {
    pub id: uuid::Uuid,
    pub tenant_id: Option<uuid::Uuid>,
    /// The tenant's name; `None` for a shared calendar.
    pub tenant: Option<String>,
    pub name: String,
    /// The iCalendar text, as given (or as `--date`/`--range` wrote it).
    pub source: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    pub version: i64,
}

impl StoredCalendar {
    /// The parsed calendar (its text was checked when stored).
    pub fn parse(&self) -> Result<Calendar, CalendarError> {
        parse_ics(&self.source)
    }
}

/// The largest calendar file Rota stores (public holiday feeds are tens of kilobytes).
pub const MAX_SOURCE_BYTES: usize = 2 * 1024 * 1024;

/// Calendar names follow the rules of tenant and job names (printable, no surrounding space,
/// at most 200 characters), and contain no comma (the CLI and files list them).
pub fn validate_name(field: &str, name: &str) -> crate::error::Result<()> {
    crate::tenant::validate_name(field, name)?;
    if name.contains(',') {
        return Err(crate::error::Error::invalid(field, name, "must not contain a comma"));
    }
    Ok(())
}
