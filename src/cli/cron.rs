//! `rota cron next` and `rota cron explain`.
//!
//! Both commands validate all of their input before printing anything, so a script sees either
//! a complete answer on stdout (exit 0) or nothing on stdout and one error on stderr (exit 2).

use std::io::{self, BufWriter, Write};

use anyhow::Context;
use chrono::{DateTime, Datelike, Timelike, Utc};
use clap::Subcommand;
use rota::calendars::{parse_ics, CalendarRule, NamedCalendar, OnExcluded, SlotKind, Timetable};
use rota::clock::{Clock, SystemClock};
use rota::cron::{DstAdjustment, JobKind, Schedule};

use crate::cli::BadInput;

#[derive(Debug, Subcommand)]
pub enum CronCommand {
    /// Print the next fire instants of an expression, one a line, in UTC (RFC 3339).
    #[command(
        after_help = "Example:\n  rota cron next '0 9 * * MON-FRI' --tz Europe/Berlin --after 2027-03-26T00:00:00Z --count 5"
    )]
    Next {
        /// The cron expression (5 or 6 fields, or a macro such as @daily).
        expr: String,
        /// IANA time zone whose wall clock the expression is read in.
        #[arg(long, default_value = "UTC")]
        tz: String,
        /// Print instants strictly after this RFC 3339 instant (default: now).
        #[arg(long)]
        after: Option<String>,
        /// How many instants to print.
        #[arg(long, default_value_t = 1)]
        count: u64,
        #[command(flatten)]
        calendars: CalendarFiles,
    },
    /// Describe an expression, list its next runs and its daylight-saving effects.
    #[command(after_help = "Example:\n  rota cron explain '30 2 * * *' --tz America/New_York")]
    Explain {
        /// The cron expression.
        expr: String,
        /// IANA time zone whose wall clock the expression is read in.
        #[arg(long, default_value = "UTC")]
        tz: String,
        #[command(flatten)]
        calendars: CalendarFiles,
    },
}

/// Calendars read from iCalendar files, for trying a job's calendars without a database.
#[derive(Debug, clap::Args)]
pub struct CalendarFiles {
    /// An iCalendar (.ics) file whose days and windows the schedule does not run in; named by
    /// its file stem in the output. Repeatable.
    #[arg(long = "exclude-ics", value_name = "FILE")]
    exclude: Vec<std::path::PathBuf>,
    /// An iCalendar file listing the only days (or windows) the schedule runs in.
    #[arg(long = "only-ics", value_name = "FILE")]
    only: Option<std::path::PathBuf>,
    /// What an excluded occurrence does: skip, or move to the same wall time on the next or
    /// previous allowed day.
    #[arg(long, value_name = "skip|next|previous", default_value = "skip")]
    on_excluded: String,
}

impl CalendarFiles {
    /// The rule the files make; a file that cannot be read or parsed is bad input (exit 2).
    fn rule(&self) -> anyhow::Result<CalendarRule> {
        let on_excluded: OnExcluded = self
            .on_excluded
            .parse()
            .map_err(|error: rota::Error| bad_input(format!("--on-excluded: {error}")))?;
        let read = |flag: &str, path: &std::path::Path| -> anyhow::Result<NamedCalendar> {
            let text = std::fs::read_to_string(path).map_err(|error| {
                bad_input(format!("{flag}: cannot read \"{}\": {error}", path.display()))
            })?;
            let calendar = parse_ics(&text)
                .map_err(|error| bad_input(format!("{flag} \"{}\": {error}", path.display())))?;
            let name = path
                .file_stem()
                .map(|stem| stem.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string());
            Ok(NamedCalendar { name, calendar: std::sync::Arc::new(calendar) })
        };
        let exclude = self
            .exclude
            .iter()
            .map(|path| read("--exclude-ics", path))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let only = self.only.as_deref().map(|path| read("--only-ics", path)).transpose()?;
        Ok(CalendarRule { exclude, only, on_excluded })
    }
}

/// How far `cron next` looks for runs through calendars that exclude everything.
const CALENDAR_HORIZON_DAYS: i64 = 366 * 10;

pub fn run(command: CronCommand) -> anyhow::Result<()> {
    match command {
        CronCommand::Next { expr, tz, after, count, calendars } => {
            next(&expr, &tz, after.as_deref(), count, &calendars)
        }
        CronCommand::Explain { expr, tz, calendars } => explain(&expr, &tz, &calendars),
    }
}

fn bad_input(message: String) -> anyhow::Error {
    anyhow::Error::new(BadInput(message))
}

fn parse_schedule(expr: &str, tz: &str) -> anyhow::Result<Schedule> {
    Schedule::parse(expr, tz).map_err(|error| bad_input(error.to_string()))
}

/// Ends quietly when the reader went away (`rota cron next ... | head`); reports other errors.
fn finish_output(result: io::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("writing to stdout"),
    }
}

fn next(
    expr: &str,
    tz: &str,
    after: Option<&str>,
    count: u64,
    calendars: &CalendarFiles,
) -> anyhow::Result<()> {
    let schedule = parse_schedule(expr, tz)?;
    let rule = calendars.rule()?;
    let after = match after {
        Some(text) => {
            DateTime::parse_from_rfc3339(text).map(|at| at.to_utc()).map_err(|error| {
                bad_input(format!(
                "--after: \"{text}\" is not an RFC 3339 instant ({error}); allowed for example \
                 2027-03-14T07:00:00Z or 2027-03-14T08:00:00+01:00"
            ))
            })?
        }
        None => SystemClock.now(),
    };
    if count == 0 {
        return Err(bad_input("--count: \"0\" is out of range; allowed 1 or more".to_owned()));
    }
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(64 * 1024, stdout.lock());
    let result = (|| {
        if rule.is_empty() {
            let mut cursor = after;
            for _ in 0..count {
                let Some(at) = schedule.next_after(cursor) else { break };
                write_instant(&mut out, at)?;
                cursor = at;
            }
        } else {
            let timetable = Timetable::new(&schedule, Some(&rule));
            let horizon = chrono::Duration::days(CALENDAR_HORIZON_DAYS);
            for slot in timetable.runs_after(after, horizon).take(count as usize) {
                write_instant(&mut out, slot.at)?;
            }
        }
        out.flush()
    })();
    finish_output(result)
}

/// Writes `2027-03-14T07:00:00Z` and a newline, without chrono's formatting machinery (the
/// command is expected to print hundreds of thousands of lines quickly).
fn write_instant(out: &mut impl Write, at: DateTime<Utc>) -> io::Result<()> {
    let year = at.year();
    if !(0..=9999).contains(&year) {
        return writeln!(out, "{}", at.format("%Y-%m-%dT%H:%M:%SZ"));
    }
    let mut line = *b"0000-00-00T00:00:00Z\n";
    let mut put = |position: usize, value: u32, digits: usize| {
        let mut value = value;
        for index in (position..position + digits).rev() {
            line[index] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, year as u32, 4);
    put(5, at.month(), 2);
    put(8, at.day(), 2);
    put(11, at.hour(), 2);
    put(14, at.minute(), 2);
    put(17, at.second(), 2);
    out.write_all(&line)
}

fn explain(expr: &str, tz: &str, calendars: &CalendarFiles) -> anyhow::Result<()> {
    let schedule = parse_schedule(expr, tz)?;
    let rule = calendars.rule()?;
    let timetable = Timetable::new(&schedule, Some(&rule));
    let now = SystemClock.now();
    let zone = schedule.timezone();
    let mut text = String::new();
    text.push_str(&schedule.describe());
    text.push('\n');
    let kind = match schedule.kind() {
        JobKind::Wildcard => {
            "wildcard job: runs at every real instant whose wall time matches (skipped in a \
             spring-forward gap, twice in a repeated hour)"
        }
        JobKind::FixedTime => {
            "fixed-time job: runs once per matching wall time (at the transition when the time \
             is skipped, in the first pass when it is repeated)"
        }
        JobKind::Interval => "fixed interval: unaffected by daylight saving",
    };
    text.push_str(&format!("Kind: {kind}\n\nNext runs:\n"));
    let horizon = chrono::Duration::days(CALENDAR_HORIZON_DAYS);
    for slot in timetable.runs_after(now, horizon).take(5) {
        let occurrence = schedule
            .occurrence_after(slot.at - chrono::Duration::seconds(1))
            .filter(|occurrence| occurrence.at == slot.at && slot.kind == SlotKind::Run);
        let Some(occurrence) = occurrence else {
            // A moved run: where it came from and why.
            text.push_str(&format!(
                "  {}   {}  ({})\n",
                slot.at.with_timezone(&zone).format("%Y-%m-%d %H:%M:%S %Z"),
                slot.at.format("%Y-%m-%dT%H:%M:%SZ"),
                slot.reason().unwrap_or_default(),
            ));
            continue;
        };
        let local = occurrence.at.with_timezone(&zone);
        let note = match occurrence.dst {
            DstAdjustment::None => String::new(),
            DstAdjustment::MovedFromGap { nominal } => {
                format!("  ({} does not exist; runs at the transition)", nominal.format("%H:%M:%S"))
            }
            DstAdjustment::MergedInGap { count } => {
                format!("  ({count} times in a skipped hour run once, at the transition)")
            }
            DstAdjustment::FirstPassOnly => {
                "  (this time happens twice; runs in the first pass only)".to_owned()
            }
            DstAdjustment::SecondPass => "  (second pass of a repeated time)".to_owned(),
        };
        text.push_str(&format!(
            "  {}   {}{note}\n",
            local.format("%Y-%m-%d %H:%M:%S %Z"),
            occurrence.at.format("%Y-%m-%dT%H:%M:%SZ"),
        ));
    }
    if !rule.is_empty() {
        let today = now.with_timezone(&zone).date_naive();
        let last = today + chrono::Duration::days(365);
        let days = rule.excluded_days(today, last);
        let moves = match rule.on_excluded {
            OnExcluded::Skip => "its runs are skipped",
            OnExcluded::Next => "its runs move to the same time on the next allowed day",
            OnExcluded::Previous => "its runs move to the same time on the previous allowed day",
        };
        if days.is_empty() {
            text.push_str("\nNo excluded days in the next 12 months.\n");
        } else {
            text.push_str(&format!(
                "\nExcluded days in the next 12 months ({} in {}; {moves}):\n",
                days.len(),
                zone.name()
            ));
            // Consecutive days with the same reason are one line.
            let mut index = 0;
            while index < days.len() {
                let first = &days[index];
                let mut last = index;
                while last + 1 < days.len()
                    && days[last + 1].because == first.because
                    && days[last + 1].date == days[last].date + chrono::Duration::days(1)
                {
                    last += 1;
                }
                let dates = if last == index {
                    first.date.format("%Y-%m-%d %a").to_string()
                } else {
                    format!(
                        "{} to {}",
                        first.date.format("%Y-%m-%d %a"),
                        days[last].date.format("%Y-%m-%d %a")
                    )
                };
                text.push_str(&format!("  {dates}   {}\n", first.because));
                index = last + 1;
            }
        }
        let windows: Vec<String> = rule
            .exclude
            .iter()
            .flat_map(|named| {
                named
                    .calendar
                    .spans_between(now, now + chrono::Duration::days(365), zone)
                    .into_iter()
                    .filter(|(_, _, event)| !event.all_day())
                    .map(|(start, end, event)| {
                        format!(
                            "  {} to {}   calendar {}: {}",
                            start.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z"),
                            end.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z"),
                            named.name,
                            event.summary
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        if !windows.is_empty() {
            text.push_str("\nExcluded windows in the next 12 months:\n");
            for window in windows {
                text.push_str(&window);
                text.push('\n');
            }
        }
    }
    let effects = schedule.dst_effects(now, now + chrono::Duration::days(365));
    if effects.is_empty() {
        text.push_str("\nNo daylight-saving effects in the next 12 months.\n");
    } else {
        text.push_str("\nDaylight-saving effects in the next 12 months:\n");
        for effect in &effects {
            text.push_str(&format!("  {effect}\n"));
        }
    }
    let stdout = io::stdout();
    let mut out = stdout.lock();
    finish_output(out.write_all(text.as_bytes()).and_then(|()| out.flush()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_written_as_rfc3339_utc_seconds() {
        let mut out = Vec::new();
        let at = DateTime::parse_from_rfc3339("2027-03-14T07:00:05Z").unwrap().to_utc();
        write_instant(&mut out, at).unwrap();
        assert_eq!(out, b"2027-03-14T07:00:05Z\n");
    }
}
