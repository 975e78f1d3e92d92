//! The time engine: cron expressions, their fire instants in an IANA time zone with Debian
//! cron's daylight-saving rules, and explanations for people.
//!
//! The contract is `/work/shared/cron/SEMANTICS.md` (Debian cron; where the two disagree,
//! `cron.c` wins). Everything here is pure: no clock, no I/O, no global state apart from a
//! cache of per-zone offset tables.
//!
//! # Syntax
//!
//! Five fields, `minute hour day-of-month month day-of-week`, separated by runs of spaces or
//! tabs, or six with a seconds field first:
//!
//! | field        | values                        | extensions                       |
//! |--------------|-------------------------------|----------------------------------|
//! | second       | 0-59                          |                                  |
//! | minute       | 0-59                          |                                  |
//! | hour         | 0-23                          |                                  |
//! | day-of-month | 1-31                          | `L`, `LW`, `nW`, `L-n`, `?`      |
//! | month        | 1-12, `JAN`-`DEC`             |                                  |
//! | day-of-week  | 0-7 (0 and 7: Sunday), `SUN`-`SAT` | `nL`, `n#k`, `NAME#k`, `?`  |
//!
//! Items are `*`, `N`, `A-B` (A <= B), `*/S`, `A-B/S` and `N/S` (N to the field's maximum;
//! 7 in day-of-week), joined into lists with commas. Names are three letters, any case, and
//! only valid in their own field. Day extensions:
//!
//! - `L`: the last day of the month; `LW`: its last Monday-Friday.
//! - `nW` (Quartz): the Monday-Friday nearest to day n, without leaving the month (`1W` on a
//!   Saturday is Monday the 3rd; `31W` on a Sunday is Friday the 29th; no match in months
//!   without day n).
//! - `L-n` (Quartz): n days before the last day (`L-1` is the second-to-last day).
//! - `nL`: the last weekday n of the month (numeric n); `n#k`: its k-th occurrence, k = 1-5.
//! - `?` (Quartz): the same as `*` in either day field.
//!
//! Day-of-month and day-of-week combine with AND when the text of either starts with `*` (or
//! `?`), and with OR otherwise (Vixie cron): `0 0 13 * 5` runs on every 13th and every Friday.
//!
//! Macros: `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`, and
//! `@every <duration>` with units `d`, `h`, `m`, `s` (`@every 15m`, `@every 1h30m`). An
//! `@every` schedule fires at every whole multiple of the interval since the Unix epoch
//! (1970-01-01T00:00:00Z), so it is stable across restarts and unaffected by daylight saving;
//! intervals that do not divide a day drift against the wall clock. `@reboot` is rejected: it
//! is not a time schedule.
//!
//! Expressions that can never fire are rejected: a day specification that no month selected
//! can satisfy is found by checking a whole 400-year Gregorian cycle, after which the calendar
//! repeats.
//!
//! # Time zones and daylight saving
//!
//! Jobs whose minute or hour text starts with `*` are wildcard jobs ([`JobKind::Wildcard`]);
//! they fire at every real instant whose wall time matches, so a spring-forward gap loses
//! their runs and a fall-back repeats them. All other cron jobs are fixed-time jobs
//! ([`JobKind::FixedTime`]): a matching time inside a gap runs once at the transition
//! instant, and a repeated time runs only in its first pass. The `engine` module documents the
//! precise rule (Debian's virtual time), including `cron.c`'s handling of unusually small and
//! large clock jumps (shifts of at most five minutes, and of three hours or more).
//!
//! Six-field expressions follow the same rules with the second as the unit. Zone data comes
//! from chrono-tz; see the `zone` module for how its transitions are recovered.
//!
//! # Evaluation cost
//!
//! Nothing scans minutes. The matcher jumps field by field (a month without a matching day is
//! skipped whole), and the engine visits each offset segment between the start and the answer
//! once, so `0 0 29 2 */7` (Feb 29 on a Sunday, every 28 years or so) costs about as much as
//! `*/5 * * * *`: around 100 ns in a release build.
//!
//! # Errors
//!
//! [`CronError`] carries a [`CronErrorKind`], the [`Field`], the offending text and its byte
//! range, and displays as `minute field: "60" is out of range; allowed 0-59`.
//!
//! # Code map
//!
//! - `parse`: text to compiled fields; all validation.
//! - `matcher`: bitsets and the field-by-field search for matching wall times.
//! - `calendar`: integer calendar arithmetic for the matcher.
//! - `zone`: per-zone offset segments and Debian's step classification.
//! - `engine`: the walk over segments that turns wall-time matches into instants.
//! - `describe` and `dst`: explanations.

mod calendar;
mod describe;
mod dst;
mod engine;
mod error;
mod matcher;
mod parse;
mod zone;

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

pub use dst::{DstEffect, DstEffectKind};
pub use error::{CronError, CronErrorKind, Field};

use calendar::wall_to_naive;
use engine::{Cause, Engine, Fire};
use parse::{CronFields, Parsed};
use zone::{Resolution, Step, ZoneSegments};

/// How daylight-saving transitions treat a job (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// The minute or hour field starts with `*`: runs at every real instant whose wall time
    /// matches.
    Wildcard,
    /// Any other cron expression: runs once per matching wall time, even across transitions.
    FixedTime,
    /// `@every <duration>`: a fixed interval from the Unix epoch, independent of the zone.
    Interval,
}

/// How a daylight-saving transition shaped one occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DstAdjustment {
    /// The occurrence is an ordinary match.
    None,
    /// A fixed-time job whose wall time fell in a spring-forward gap runs at the transition.
    MovedFromGap { nominal: NaiveDateTime },
    /// Several matching wall times of a gap (and possibly the first time after it) collapsed
    /// into this one run.
    MergedInGap { count: u32 },
    /// A fixed-time job at a wall time that happens twice; it runs in this, the first, pass only.
    FirstPassOnly,
    /// A run in the second pass of a repeated wall time (wildcard jobs).
    SecondPass,
}

/// One fire instant with its explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Occurrence {
    /// When the job runs.
    pub at: DateTime<Utc>,
    /// The wall time the expression matched; for a run moved out of a spring-forward gap this
    /// is the (nonexistent) matching time, not the clock reading at `at`.
    pub wall: NaiveDateTime,
    pub dst: DstAdjustment,
}

/// A parsed schedule bound to a time zone. Clones share the parsed fields and the zone table;
/// `next_after` and `prev_before` never allocate.
#[derive(Debug, Clone)]
pub struct Schedule {
    expression: String,
    tz: Tz,
    plan: Plan,
}

#[derive(Debug, Clone)]
enum Plan {
    Cron { fields: Arc<CronFields>, zone: Arc<ZoneSegments>, resolution: Resolution },
    Interval { period: i64 },
}

/// The occurrences strictly after an instant, in increasing order.
#[derive(Debug, Clone)]
pub struct Occurrences<'a> {
    schedule: &'a Schedule,
    cursor: Option<DateTime<Utc>>,
}

impl Iterator for Occurrences<'_> {
    type Item = Occurrence;

    fn next(&mut self) -> Option<Occurrence> {
        let occurrence = self.schedule.occurrence_after(self.cursor?);
        self.cursor = occurrence.map(|occurrence| occurrence.at);
        occurrence
    }
}

fn instant(seconds: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(seconds, 0)
}

impl Schedule {
    /// Parses `expression` in the IANA zone named `tz` (case-sensitive, as in the database).
    pub fn parse(expression: &str, tz: &str) -> Result<Schedule, CronError> {
        let parsed = parse::parse(expression)?;
        let zone: Tz = tz.parse().map_err(|_| {
            CronError::new(
                CronErrorKind::UnknownTimeZone,
                Field::TimeZone,
                tz,
                0..tz.len(),
                "is not a time zone of the IANA database",
                "IANA names such as UTC, Europe/Berlin or America/New_York",
            )
        })?;
        Ok(Schedule::from_parsed(expression, zone, parsed))
    }

    /// Parses `expression` in the zone `tz`.
    pub fn parse_in(expression: &str, tz: Tz) -> Result<Schedule, CronError> {
        Ok(Schedule::from_parsed(expression, tz, parse::parse(expression)?))
    }

    fn from_parsed(expression: &str, tz: Tz, parsed: Parsed) -> Schedule {
        let plan = match parsed {
            Parsed::Cron(fields) => {
                let resolution =
                    if fields.has_seconds { Resolution::Second } else { Resolution::Minute };
                Plan::Cron { fields: Arc::from(fields), zone: ZoneSegments::of(tz), resolution }
            }
            Parsed::Interval(period) => Plan::Interval { period },
        };
        Schedule { expression: expression.to_owned(), tz, plan }
    }

    /// The expression as given.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// The zone whose wall clock the expression is read in.
    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// Wildcard, fixed-time or interval job.
    pub fn kind(&self) -> JobKind {
        match &self.plan {
            Plan::Cron { fields, .. } => fields.kind,
            Plan::Interval { .. } => JobKind::Interval,
        }
    }

    fn engine(&self) -> Option<Engine<'_>> {
        match &self.plan {
            Plan::Cron { fields, zone, resolution } => Some(Engine {
                matcher: &fields.matcher,
                zone,
                resolution: *resolution,
                fixed: fields.kind == JobKind::FixedTime,
            }),
            Plan::Interval { .. } => None,
        }
    }

    /// The first occurrence strictly after `t`, or `None` past the end of representable time.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Fire instants are whole seconds, so "after t" equals "after t's whole second".
        let after = t.timestamp();
        match &self.plan {
            Plan::Interval { period } => {
                instant(after.div_euclid(*period).checked_add(1)?.checked_mul(*period)?)
            }
            Plan::Cron { .. } => instant(self.engine()?.next_after(after)?.at),
        }
    }

    /// The latest occurrence strictly before `t`.
    pub fn prev_before(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let before = exclusive_upper_bound(t)?;
        match &self.plan {
            Plan::Interval { period } => {
                instant(before.checked_sub(1)?.div_euclid(*period).checked_mul(*period)?)
            }
            Plan::Cron { .. } => instant(self.engine()?.prev_before(before)?.at),
        }
    }

    /// The first occurrence strictly after `t`, with its wall time and DST adjustment.
    pub fn occurrence_after(&self, t: DateTime<Utc>) -> Option<Occurrence> {
        match &self.plan {
            Plan::Interval { .. } => {
                let at = self.next_after(t)?;
                Some(Occurrence {
                    at,
                    wall: at.with_timezone(&self.tz).naive_local(),
                    dst: DstAdjustment::None,
                })
            }
            Plan::Cron { .. } => {
                let engine = self.engine()?;
                let fire = engine.next_after(t.timestamp())?;
                Some(Occurrence {
                    at: instant(fire.at)?,
                    wall: wall_to_naive(fire.wall)?,
                    dst: adjustment(&engine, &fire),
                })
            }
        }
    }

    /// The occurrences strictly after `t`, in increasing order.
    pub fn occurrences_after(&self, t: DateTime<Utc>) -> Occurrences<'_> {
        Occurrences { schedule: self, cursor: Some(t) }
    }

    /// A plain-English description ending with the zone, such as
    /// "At 09:00, Monday through Friday (Europe/Berlin)".
    pub fn describe(&self) -> String {
        match &self.plan {
            Plan::Cron { fields, .. } => {
                format!("{} ({})", describe::describe(fields), self.tz.name())
            }
            Plan::Interval { period } => describe::describe_interval(*period),
        }
    }

    /// How offset transitions in `[from, to)` change this schedule, for people.
    pub fn dst_effects(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DstEffect> {
        match self.engine() {
            Some(engine) => dst::effects(&engine, from.timestamp(), to.timestamp()),
            None => Vec::new(),
        }
    }

    /// The smallest gap between two consecutive nominal (wall-clock) occurrences. Daylight
    /// saving can make real gaps shorter (a run moved out of a gap) or longer.
    pub fn min_period(&self) -> chrono::Duration {
        let seconds = match &self.plan {
            Plan::Interval { period } => *period,
            Plan::Cron { fields, .. } => min_wall_gap(&fields.matcher),
        };
        chrono::Duration::seconds(seconds)
    }
}

/// The smallest instant (in whole seconds) that is not strictly before `t`.
fn exclusive_upper_bound(t: DateTime<Utc>) -> Option<i64> {
    let seconds = t.timestamp();
    if t.timestamp_subsec_nanos() > 0 {
        seconds.checked_add(1)
    } else {
        Some(seconds)
    }
}

/// Sorted values of a bitset and the smallest difference between neighbours.
fn spread(bits: u64) -> (i64, i64, Option<i64>) {
    let values: Vec<i64> = (0..64).filter(|&bit| bits & (1 << bit) != 0).collect();
    let min = values.first().copied().unwrap_or(0);
    let max = values.last().copied().unwrap_or(0);
    let gap = values.windows(2).map(|pair| pair[1] - pair[0]).min();
    (min, max, gap)
}

/// The exact smallest gap between consecutive matching wall times.
fn min_wall_gap(matcher: &matcher::Matcher) -> i64 {
    let (second_min, second_max, second_gap) = spread(matcher.seconds);
    let (minute_min, minute_max, minute_gap) = spread(matcher.minutes);
    let (hour_min, hour_max, hour_gap) = spread(matcher.hours);
    let second_span = second_max - second_min;
    let minute_span = (minute_max - minute_min) * 60 + second_span;
    let day_span = (hour_max - hour_min) * 3600 + minute_span;
    // Within a day: the next second, the first second of the next minute, the first minute of
    // the next hour; across days: from the last time of a day to the first of the next
    // matching day.
    let candidates = [
        second_gap,
        minute_gap.map(|gap| gap * 60 - second_span),
        hour_gap.map(|gap| gap * 3600 - minute_span),
        matcher.min_day_gap().map(|days| days * calendar::SECONDS_PER_DAY - day_span),
    ];
    candidates.into_iter().flatten().min().unwrap_or(400 * 366 * calendar::SECONDS_PER_DAY)
}

/// Explains how daylight saving shaped a fire.
fn adjustment(engine: &Engine<'_>, fire: &Fire) -> DstAdjustment {
    match fire.cause {
        Cause::Inside { repeated: true } | Cause::Transition { step: Step::Repeat, .. } => {
            DstAdjustment::SecondPass
        }
        Cause::Transition { virtual_before, wall_now, .. } if fire.wall < wall_now => {
            let count = engine.count_between(virtual_before, wall_now, u32::MAX as usize);
            match (count, wall_to_naive(fire.wall)) {
                (0 | 1, Some(nominal)) => DstAdjustment::MovedFromGap { nominal },
                _ => DstAdjustment::MergedInGap { count: u32::try_from(count).unwrap_or(u32::MAX) },
            }
        }
        _ => {
            let mut earlier = false;
            let mut later = false;
            for index in engine.zone.segments_with_wall(fire.wall, fire.segment) {
                earlier |= index < fire.segment;
                later |= index > fire.segment;
            }
            if earlier {
                DstAdjustment::SecondPass
            } else if later && engine.fixed {
                DstAdjustment::FirstPassOnly
            } else {
                DstAdjustment::None
            }
        }
    }
}

#[cfg(test)]
mod tests;
