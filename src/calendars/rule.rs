//! A job's calendars applied to its cron schedule.
//!
//! An occurrence is judged in the job's own zone: it is excluded when an exclude calendar has
//! an all-day event on its local date or a timed event whose window holds it, or when the job
//! has an only-calendar and no event of it covers the occurrence. An excluded occurrence is
//! skipped, or moved to the same wall time on the next (or previous) allowed day, at most
//! [`MAX_MOVE_DAYS`] away; a moved occurrence that lands on one the schedule already has merges
//! with it. Occurrences on other days are exactly the cron schedule's, daylight-saving rules
//! included; a moved wall time that does not exist that day runs at the transition, and a
//! repeated one in its first pass, as cron runs a fixed-time job.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use super::events::{resolve, Calendar};
use crate::cron::{Occurrence, Schedule};
use crate::text_enum::text_enum;

/// How far an excluded occurrence may move; past it, it is skipped.
pub const MAX_MOVE_DAYS: i64 = 31;

/// Bound on the occurrences one question judges (a six-field schedule inside a month-long
/// blackout); past it the answer is what was found so far.
const MAX_JUDGED: usize = 200_000;

/// What happens to an occurrence a calendar excludes.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum OnExcluded {
    /// It does not run (a `skipped` run names the calendar and the event).
    #[default]
    Skip,
    /// It runs at the same wall time on the next allowed day.
    Next,
    /// It runs at the same wall time on the previous allowed day.
    Previous,
}

text_enum!(OnExcluded, "on_excluded", {
    Skip => "skip",
    Next => "next",
    Previous => "previous",
});

/// A calendar with the name a job refers to it by.
#[derive(Debug, Clone)]
pub struct NamedCalendar {
    pub name: String,
    pub calendar: Arc<Calendar>,
}

/// Why an occurrence is excluded: the calendar and its event, or the only-calendar that does
/// not list the day.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CalendarVerdict {
    pub calendar: String,
    /// The event's summary; `None` when an only-calendar has no event then.
    pub event: Option<String>,
}

impl fmt::Display for CalendarVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.event {
            Some(event) => write!(f, "calendar {}: {event}", self.calendar),
            None => write!(f, "calendar {}: not one of its days", self.calendar),
        }
    }
}

/// A job's calendars: those that exclude, the one it runs only on, and what an excluded
/// occurrence does.
#[derive(Debug, Clone, Default)]
pub struct CalendarRule {
    pub exclude: Vec<NamedCalendar>,
    pub only: Option<NamedCalendar>,
    pub on_excluded: OnExcluded,
}

/// One instant of a job's timetable.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Slot {
    pub at: DateTime<Utc>,
    pub kind: SlotKind,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SlotKind {
    /// The schedule's own occurrence, which runs.
    Run,
    /// An excluded occurrence of `from`, moved here.
    Moved { from: DateTime<Utc>, because: CalendarVerdict },
    /// An occurrence that does not run; `no_allowed_day` when it was to move but no day within
    /// [`MAX_MOVE_DAYS`] allowed it.
    Excluded { because: CalendarVerdict, no_allowed_day: bool },
}

impl Slot {
    /// The schedule's own occurrence at `at`, which runs.
    pub fn plain(at: DateTime<Utc>) -> Self {
        Slot { at, kind: SlotKind::Run }
    }

    /// Whether the job runs at this slot.
    pub fn runs(&self) -> bool {
        !matches!(self.kind, SlotKind::Excluded { .. })
    }

    /// Why the slot is not the schedule's plain occurrence, in words (the run's reason).
    pub fn reason(&self) -> Option<String> {
        match &self.kind {
            SlotKind::Run => None,
            SlotKind::Moved { from, because } => {
                Some(format!("{because}; moved from {}", from.to_rfc3339()))
            }
            SlotKind::Excluded { because, no_allowed_day: false } => Some(because.to_string()),
            SlotKind::Excluded { because, no_allowed_day: true } => {
                Some(format!("{because}; no allowed day within {MAX_MOVE_DAYS} days to move it to"))
            }
        }
    }
}

/// A day excluded for a job, for `rota cron explain` and the console.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ExcludedDay {
    pub date: NaiveDate,
    pub because: CalendarVerdict,
}

impl CalendarRule {
    pub fn is_empty(&self) -> bool {
        self.exclude.is_empty() && self.only.is_none()
    }

    /// Why `at` is excluded for a job in `zone`, or `None` when it may run.
    pub fn verdict(&self, at: DateTime<Utc>, zone: Tz) -> Option<CalendarVerdict> {
        for named in &self.exclude {
            if let Some(event) = named.calendar.event_covering(at, zone) {
                return Some(CalendarVerdict {
                    calendar: named.name.clone(),
                    event: Some(event.summary.clone()),
                });
            }
        }
        let only = self.only.as_ref()?;
        match only.calendar.event_covering(at, zone) {
            Some(_) => None,
            None => Some(CalendarVerdict { calendar: only.name.clone(), event: None }),
        }
    }

    /// Whether a whole date is excluded by an all-day event, or left out of the
    /// only-calendar's all-day events; with the reason.
    pub fn day_verdict(&self, date: NaiveDate) -> Option<CalendarVerdict> {
        for named in &self.exclude {
            if let Some(event) = named.calendar.event_on_day(date) {
                return Some(CalendarVerdict {
                    calendar: named.name.clone(),
                    event: Some(event.summary.clone()),
                });
            }
        }
        let only = self.only.as_ref()?;
        match only.calendar.event_on_day(date) {
            Some(_) => None,
            None => Some(CalendarVerdict { calendar: only.name.clone(), event: None }),
        }
    }

    /// The whole days in `[from, to]` that are excluded (all-day events; for an only-calendar,
    /// the days it does not list).
    pub fn excluded_days(&self, from: NaiveDate, to: NaiveDate) -> Vec<ExcludedDay> {
        let mut days = Vec::new();
        let mut date = from;
        while date <= to {
            if let Some(because) = self.day_verdict(date) {
                days.push(ExcludedDay { date, because });
            }
            let Some(next) = date.succ_opt() else { break };
            date = next;
        }
        days
    }

    /// The slot an occurrence becomes.
    pub fn judge(&self, occurrence: &Occurrence, zone: Tz) -> Slot {
        let Some(because) = self.verdict(occurrence.at, zone) else {
            return Slot { at: occurrence.at, kind: SlotKind::Run };
        };
        let step = match self.on_excluded {
            OnExcluded::Skip => {
                return Slot {
                    at: occurrence.at,
                    kind: SlotKind::Excluded { because, no_allowed_day: false },
                }
            }
            OnExcluded::Next => 1,
            OnExcluded::Previous => -1,
        };
        for days in 1..=MAX_MOVE_DAYS {
            let wall = occurrence.wall + Duration::days(step * days);
            let at = resolve(zone, wall);
            if self.verdict(at, zone).is_none() {
                return Slot { at, kind: SlotKind::Moved { from: occurrence.at, because } };
            }
        }
        Slot { at: occurrence.at, kind: SlotKind::Excluded { because, no_allowed_day: true } }
    }

    /// Whether a whole local date is allowed as far as all-day events go (a move can land on
    /// it), used to bound how far back or ahead a move can come from.
    fn day_allowed(&self, date: NaiveDate) -> bool {
        self.day_verdict(date).is_none()
    }
}

/// A schedule with its calendars: the slots the job really has.
#[derive(Debug, Clone, Copy)]
pub struct Timetable<'a> {
    pub schedule: &'a Schedule,
    pub rule: Option<&'a CalendarRule>,
}

impl<'a> Timetable<'a> {
    pub fn new(schedule: &'a Schedule, rule: Option<&'a CalendarRule>) -> Self {
        Timetable { schedule, rule: rule.filter(|rule| !rule.is_empty()) }
    }

    fn zone(&self) -> Tz {
        self.schedule.timezone()
    }

    /// The schedule's occurrences in `[from, to)`, judged (at most [`MAX_JUDGED`]).
    fn judged(&self, rule: &CalendarRule, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Slot> {
        let mut slots = Vec::new();
        let start = from - Duration::milliseconds(1);
        for occurrence in self.schedule.occurrences_after(start) {
            if occurrence.at >= to || slots.len() == MAX_JUDGED {
                break;
            }
            slots.push(rule.judge(&occurrence, self.zone()));
        }
        slots
    }

    /// Where occurrences that can move forward into `[from, ...)` start: the local midnight of
    /// the latest day before `from`'s date that all-day events allow (moves go day by day, so
    /// an occurrence before that day stops on it or earlier).
    fn lookback(&self, rule: &CalendarRule, from: DateTime<Utc>) -> DateTime<Utc> {
        let zone = self.zone();
        let mut date = from.with_timezone(&zone).date_naive();
        for _ in 0..=MAX_MOVE_DAYS {
            let Some(previous) = date.pred_opt() else { break };
            date = previous;
            if rule.day_allowed(date) {
                break;
            }
        }
        resolve(zone, date.and_time(chrono::NaiveTime::MIN))
    }

    /// The mirror of [`Self::lookback`] for moves backward into `(..., to]`: the end of the
    /// first allowed day after `to`'s date.
    fn lookahead(&self, rule: &CalendarRule, to: DateTime<Utc>) -> DateTime<Utc> {
        let zone = self.zone();
        let mut date = to.with_timezone(&zone).date_naive();
        for _ in 0..=MAX_MOVE_DAYS {
            let Some(next) = date.succ_opt() else { break };
            date = next;
            if rule.day_allowed(date) {
                break;
            }
        }
        let end = date.succ_opt().unwrap_or(date);
        resolve(zone, end.and_time(chrono::NaiveTime::MIN))
    }

    /// The slots in `[from, to]`, oldest first: at most `limit` of the schedule's own
    /// occurrences (the most recent, as the tick wants), plus the moved ones that land there.
    /// The flag says that older occurrences were left out.
    pub fn slots_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        limit: usize,
    ) -> (Vec<Slot>, bool) {
        let mut newest_first = Vec::new();
        let mut truncated = false;
        let mut cursor = to + Duration::milliseconds(1);
        let zone = self.zone();
        while let Some(occurrence) = self.previous_occurrence(cursor).filter(|o| o.at >= from) {
            if newest_first.len() == limit {
                truncated = true;
                break;
            }
            cursor = occurrence.at;
            newest_first.push(occurrence);
        }
        newest_first.reverse();
        let Some(rule) = self.rule else {
            let slots = newest_first
                .into_iter()
                .map(|occurrence| Slot { at: occurrence.at, kind: SlotKind::Run })
                .collect();
            return (slots, truncated);
        };
        let mut slots: Vec<Slot> =
            newest_first.iter().map(|occurrence| rule.judge(occurrence, zone)).collect();
        match rule.on_excluded {
            OnExcluded::Skip => {}
            OnExcluded::Next => slots.extend(self.judged(rule, self.lookback(rule, from), from)),
            OnExcluded::Previous => {
                let after = to + Duration::seconds(1);
                slots.extend(self.judged(rule, after, self.lookahead(rule, to)));
            }
        }
        slots.retain(|slot| from <= slot.at && slot.at <= to);
        (merge(slots), truncated)
    }

    fn previous_occurrence(&self, before: DateTime<Utc>) -> Option<Occurrence> {
        let at = self.schedule.prev_before(before)?;
        // The occurrence (with its wall time) is the first one after the second before it.
        self.schedule.occurrence_after(at - Duration::seconds(1)).filter(|o| o.at == at)
    }

    /// The first slot strictly after `t` (a run, a moved run, or an excluded occurrence).
    pub fn next_slot_after(&self, t: DateTime<Utc>) -> Option<Slot> {
        let Some(rule) = self.rule else {
            return self.schedule.next_after(t).map(|at| Slot { at, kind: SlotKind::Run });
        };
        let zone = self.zone();
        let mut candidates: Vec<Slot> = Vec::new();
        if rule.on_excluded == OnExcluded::Next {
            let after = t + Duration::seconds(1);
            candidates.extend(
                self.judged(rule, self.lookback(rule, after), after)
                    .into_iter()
                    .filter(|slot| slot.at > t),
            );
        }
        let mut stop_after: Option<DateTime<Utc>> = None;
        for (count, occurrence) in self.schedule.occurrences_after(t).enumerate() {
            if stop_after.is_some_and(|stop| occurrence.at > stop) || count == MAX_JUDGED {
                break;
            }
            let slot = rule.judge(&occurrence, zone);
            let at_nominal = slot.at == occurrence.at;
            if slot.at > t {
                candidates.push(slot);
            }
            let best = candidates.iter().map(|slot| slot.at).min();
            stop_after = match (rule.on_excluded, best) {
                // Later occurrences have later slots than one that stayed where it was.
                (OnExcluded::Skip | OnExcluded::Next, _) if at_nominal => Some(occurrence.at),
                (OnExcluded::Next, Some(best)) => Some(best),
                (OnExcluded::Previous, Some(best)) => Some(self.lookahead(rule, best)),
                _ => stop_after,
            };
        }
        merge(candidates).into_iter().next()
    }

    /// The instants the job runs at, strictly after `t`, in order; excluded occurrences are
    /// passed over, for at most `horizon` past `t`.
    pub fn runs_after(
        &self,
        t: DateTime<Utc>,
        horizon: Duration,
    ) -> impl Iterator<Item = Slot> + use<'a> {
        let timetable = *self;
        let end = t + horizon;
        let mut cursor = Some(t);
        std::iter::from_fn(move || loop {
            let slot = timetable.next_slot_after(cursor?)?;
            if slot.at > end {
                cursor = None;
                return None;
            }
            cursor = Some(slot.at);
            if slot.runs() {
                return Some(slot);
            }
        })
    }
}

/// Sorts slots by instant and keeps one per instant: the schedule's own run before a moved one
/// that landed on it, and of several occurrences moved onto the same instant (two excluded days
/// in a row moving to the same allowed day), the one from the earliest occurrence. Not the
/// first one found: the tick finds them window by window and the iterator in one pass, in
/// different orders, and both must name the same origin.
fn merge(mut slots: Vec<Slot>) -> Vec<Slot> {
    let rank = |slot: &Slot| match slot.kind {
        SlotKind::Run => (0, None),
        SlotKind::Excluded { .. } => (1, None),
        SlotKind::Moved { from, .. } => (2, Some(from)),
    };
    slots.sort_by(|a, b| a.at.cmp(&b.at).then(rank(a).cmp(&rank(b))));
    slots.dedup_by(|later, earlier| later.at == earlier.at);
    slots
}
