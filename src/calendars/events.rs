//! The calendar model and its expansion into days and time windows.
//!
//! An event starts on a date (an all-day event, which covers whole days wherever it is read),
//! at a floating wall time (read in the zone of the job that asks), or at an instant (`Z` or a
//! `TZID`). Its instances come from `DTSTART`, its `RRULE` (expanded by the rrule crate),
//! `RDATE`s, less its `EXDATE`s; each covers `[start, start + duration)` (`DTEND` is exclusive).
//!
//! Expansion is per calendar year and cached, so the engine asking about one day at every tick
//! costs a map lookup once the year is built.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// When an event (or one of its `RDATE`/`EXDATE` values) starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventTime {
    /// `VALUE=DATE`: a whole day, in whatever zone the day is judged.
    Date(NaiveDate),
    /// A wall time without a zone: read in the job's zone.
    Floating(NaiveDateTime),
    /// An instant, with the zone its recurrence follows (`UTC` for a `Z` time).
    Zoned(DateTime<Tz>),
}

impl EventTime {
    fn to_rrule(self) -> DateTime<rrule::Tz> {
        match self {
            // Dates and floating times recur on the wall clock; UTC is a zone without
            // transitions, so their instances are the wall times themselves.
            EventTime::Date(date) => rrule::Tz::UTC.from_utc_datetime(&date.and_time(midnight())),
            EventTime::Floating(wall) => rrule::Tz::UTC.from_utc_datetime(&wall),
            EventTime::Zoned(at) => at.with_timezone(&rrule::Tz::Tz(at.timezone())),
        }
    }

    /// The same kind of time as `self` for an instance the rrule crate produced.
    fn like_this(self, at: DateTime<rrule::Tz>) -> EventTime {
        match self {
            EventTime::Date(_) => EventTime::Date(at.naive_utc().date()),
            EventTime::Floating(_) => EventTime::Floating(at.naive_utc()),
            EventTime::Zoned(start) => EventTime::Zoned(at.with_timezone(&start.timezone())),
        }
    }

    /// Whether an `EXDATE` value removes the instance `self`.
    fn same_instance(self, exdate: EventTime) -> bool {
        match (self, exdate) {
            (EventTime::Date(date), other) => other.date_part() == date,
            (EventTime::Floating(wall), EventTime::Floating(other)) => wall == other,
            (EventTime::Floating(wall), EventTime::Date(date)) => wall.date() == date,
            (EventTime::Zoned(at), EventTime::Zoned(other)) => at == other,
            (EventTime::Zoned(at), EventTime::Date(date)) => at.date_naive() == date,
            // A floating EXDATE on a zoned event names its wall time in the event's zone.
            (EventTime::Zoned(at), EventTime::Floating(wall)) => at.naive_local() == wall,
            (EventTime::Floating(wall), EventTime::Zoned(other)) => other.naive_local() == wall,
        }
    }

    fn date_part(self) -> NaiveDate {
        match self {
            EventTime::Date(date) => date,
            EventTime::Floating(wall) => wall.date(),
            EventTime::Zoned(at) => at.date_naive(),
        }
    }
}

fn midnight() -> chrono::NaiveTime {
    chrono::NaiveTime::MIN
}

/// One `VEVENT`: what it is called and when it happens.
#[derive(Debug, Clone)]
pub struct Event {
    /// `SUMMARY` (unescaped), or the event's date when it has none.
    pub summary: String,
    pub start: EventTime,
    /// How long each instance lasts; whole days for an all-day event.
    pub duration: Duration,
    /// The `RRULE`, validated against `start`.
    pub(super) rule: Option<rrule::RRule>,
    pub rdates: Vec<EventTime>,
    pub exdates: Vec<EventTime>,
    /// The line of its `BEGIN:VEVENT` in the file.
    pub line: usize,
}

impl Event {
    /// Whether the event covers whole days (it starts on a date).
    pub fn all_day(&self) -> bool {
        matches!(self.start, EventTime::Date(_))
    }

    /// The starts of its instances that can overlap `[from, to)` (wall times; instants are
    /// compared in UTC with a day of margin either side, which covers every zone's offset).
    fn instances_near(&self, from: NaiveDateTime, to: NaiveDateTime) -> Vec<EventTime> {
        let margin = Duration::days(2);
        let earliest = from - self.duration - margin;
        let latest = to + margin;
        let in_range = |time: &EventTime| {
            let wall = match *time {
                EventTime::Date(date) => date.and_time(midnight()),
                EventTime::Floating(wall) => wall,
                EventTime::Zoned(at) => at.naive_utc(),
            };
            earliest <= wall && wall < latest
        };
        let mut starts: Vec<EventTime> = Vec::new();
        starts.push(self.start);
        if let Some(rule) = &self.rule {
            let zone = self.start.to_rrule().timezone();
            let set = rrule::RRuleSet::new(self.start.to_rrule())
                .rrule(rule.clone())
                .after(zone.from_utc_datetime(&earliest))
                .before(zone.from_utc_datetime(&latest));
            // At most a year and four days of instances of a rule no finer than hourly: fewer
            // than 9,000, well under the limit.
            starts.extend(set.all(u16::MAX).dates.into_iter().map(|at| self.start.like_this(at)));
        }
        starts.extend(self.rdates.iter().copied());
        starts.retain(|start| in_range(start));
        starts.retain(|start| !self.exdates.iter().any(|exdate| start.same_instance(*exdate)));
        starts.sort_by_key(|start| match *start {
            EventTime::Date(date) => date.and_time(midnight()),
            EventTime::Floating(wall) => wall,
            EventTime::Zoned(at) => at.naive_utc(),
        });
        starts.dedup();
        starts
    }
}

/// The days and windows of one calendar year, by event index.
#[derive(Debug, Default)]
struct YearIndex {
    /// Each date an all-day event covers, with the first such event.
    days: BTreeMap<NaiveDate, usize>,
    /// Floating windows `[start, end)` in wall time.
    floating: Vec<(NaiveDateTime, NaiveDateTime, usize)>,
    /// Windows `[start, end)` of zoned events.
    zoned: Vec<(DateTime<Utc>, DateTime<Utc>, usize)>,
}

/// A parsed calendar: its events, and their expansion per year (built on first use).
#[derive(Debug, Default)]
pub struct Calendar {
    events: Vec<Event>,
    years: Mutex<HashMap<i32, Arc<YearIndex>>>,
}

impl Clone for Calendar {
    fn clone(&self) -> Self {
        Calendar::new(self.events.clone())
    }
}

/// Years outside this range are never expanded (chrono and rrule both stop well past it).
const YEARS: std::ops::RangeInclusive<i32> = 1900..=2999;

impl Calendar {
    pub fn new(events: Vec<Event>) -> Self {
        Calendar { events, years: Mutex::new(HashMap::new()) }
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    fn year(&self, year: i32) -> Arc<YearIndex> {
        if !YEARS.contains(&year) {
            return Arc::default();
        }
        // A poisoned lock only means another thread panicked while inserting; the map is
        // still a valid cache.
        let mut years = self.years.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        years.entry(year).or_insert_with(|| Arc::new(self.expand(year))).clone()
    }

    fn expand(&self, year: i32) -> YearIndex {
        let (Some(first), Some(next)) =
            (NaiveDate::from_ymd_opt(year, 1, 1), NaiveDate::from_ymd_opt(year + 1, 1, 1))
        else {
            return YearIndex::default();
        };
        let (from, to) = (first.and_time(midnight()), next.and_time(midnight()));
        let mut index = YearIndex::default();
        for (position, event) in self.events.iter().enumerate() {
            for start in event.instances_near(from, to) {
                match start {
                    EventTime::Date(date) => {
                        let days = event.duration.num_days().max(1);
                        for offset in 0..days {
                            let Some(day) = date.checked_add_signed(Duration::days(offset)) else {
                                break;
                            };
                            if day.year() == year {
                                index.days.entry(day).or_insert(position);
                            }
                        }
                    }
                    EventTime::Floating(wall) => {
                        index.floating.push((wall, wall + event.duration, position));
                    }
                    EventTime::Zoned(at) => {
                        let at = at.with_timezone(&Utc);
                        index.zoned.push((at, at + event.duration, position));
                    }
                }
            }
        }
        index
    }

    /// The all-day event covering `date`, if any.
    pub fn event_on_day(&self, date: NaiveDate) -> Option<&Event> {
        let index = self.year(date.year());
        index.days.get(&date).map(|&position| &self.events[position])
    }

    /// The timed event whose window holds the instant `at`, floating windows read in `zone`.
    /// A window without length (a `DTSTART` with neither `DTEND` nor `DURATION`) holds its
    /// start instant.
    pub fn timed_event_at(&self, at: DateTime<Utc>, zone: Tz) -> Option<&Event> {
        let local = at.with_timezone(&zone).naive_local();
        let index = self.year(local.year());
        let holds = |start: DateTime<Utc>, end: DateTime<Utc>| {
            start <= at && (at < end || (start == end && at == start))
        };
        let zoned = index.zoned.iter().find(|(start, end, _)| holds(*start, *end));
        let position = zoned.map(|(_, _, position)| *position).or_else(|| {
            index
                .floating
                .iter()
                .find(|(start, end, _)| holds(resolve(zone, *start), resolve(zone, *end)))
                .map(|(_, _, position)| *position)
        })?;
        Some(&self.events[position])
    }

    /// The event covering `at` read in `zone`: an all-day event on its local date, or a timed
    /// one whose window holds it.
    pub fn event_covering(&self, at: DateTime<Utc>, zone: Tz) -> Option<&Event> {
        let date = at.with_timezone(&zone).date_naive();
        self.event_on_day(date).or_else(|| self.timed_event_at(at, zone))
    }

    /// The dates in `[from, to]` that an all-day event covers, with that event.
    pub fn days_between(&self, from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, &Event)> {
        let mut days = Vec::new();
        for year in from.year()..=to.year() {
            let index = self.year(year);
            for (date, position) in index.days.range(from..=to) {
                days.push((*date, &self.events[*position]));
            }
        }
        days
    }

    /// The spans of `[from, to)` this calendar covers for a job in `zone`, as instants: each
    /// all-day date from its local midnight to the next, and each timed window. Sorted by
    /// start; spans may overlap.
    pub fn spans_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        zone: Tz,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>, &Event)> {
        let mut spans = Vec::new();
        if to <= from {
            return spans;
        }
        let first = from.with_timezone(&zone).date_naive();
        let last = to.with_timezone(&zone).date_naive();
        for (date, event) in self.days_between(first, last) {
            let start = resolve(zone, date.and_time(midnight()));
            let end = date.succ_opt().map(|next| resolve(zone, next.and_time(midnight())));
            let end = end.unwrap_or(DateTime::<Utc>::MAX_UTC);
            if start < to && end > from {
                spans.push((start, end, event));
            }
        }
        for year in first.year()..=last.year() {
            let index = self.year(year);
            for (start, end, position) in &index.zoned {
                if *start < to && (*end > from || (start == end && *start >= from)) {
                    spans.push((*start, *end, &self.events[*position]));
                }
            }
            for (start, end, position) in &index.floating {
                let (start, end) = (resolve(zone, *start), resolve(zone, *end));
                if start < to && (end > from || (start == end && start >= from)) {
                    spans.push((start, end, &self.events[*position]));
                }
            }
        }
        spans.sort_by_key(|(start, end, _)| (*start, *end));
        spans.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        spans
    }
}

/// The instant of a wall time in `zone`: the first pass of a repeated time, and for a time
/// that does not exist (a spring-forward gap) the transition itself, as cron runs a
/// fixed-time job.
pub(crate) fn resolve(zone: Tz, wall: NaiveDateTime) -> DateTime<Utc> {
    if let Some(at) = zone.from_local_datetime(&wall).earliest() {
        return at.with_timezone(&Utc);
    }
    // Inside a gap: the first wall minute after it is the transition's own wall time.
    let mut probe = wall - Duration::seconds(wall.and_utc().timestamp().rem_euclid(60));
    for _ in 0..(24 * 60) {
        probe += Duration::minutes(1);
        if let Some(at) = zone.from_local_datetime(&probe).earliest() {
            return at.with_timezone(&Utc);
        }
    }
    wall.and_utc()
}
