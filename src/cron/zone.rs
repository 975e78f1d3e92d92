//! Zone segments: a time zone as a sorted list of UTC intervals with a constant offset.
//!
//! chrono-tz does not expose its transition table, so it is rebuilt once per zone by probing
//! the UTC offset once a day from 1800 to 2200 and bisecting every change to the second. Only
//! changes of the total offset (standard plus daylight saving) make a segment boundary; a
//! change of abbreviation alone does not. Outside the probed years the offset is constant,
//! which is also what chrono-tz does (its tables for tzdata 2025b hold transitions from 1844
//! to 2099 and repeat no rule beyond them).
//!
//! A daily probe would miss two changes that cancel out within one day. In tzdata 2025b the
//! shortest time between two changes of the total offset is almost seven days (Boa Vista,
//! Recife and Noronha in October 2000; Gaza's predicted Ramadan shifts), so nothing is missed;
//! several changes between two probes are all found, because bisection resumes after each.
//! Building a table costs a few milliseconds per zone; tables are cached for the life of the
//! process.
//!
//! Each segment also records the Debian "virtual time" (see [`super::engine`]) just before it
//! starts, for minute and for second resolution, so an evaluation can start anywhere without
//! replaying history.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use chrono::{DateTime, Offset, TimeZone};
use chrono_tz::Tz;

use super::calendar::SECONDS_PER_DAY;

/// First probe, 1800-01-01T00:00:00Z.
const PROBE_START_DAYS: i64 = -62_091;
/// Last probe, 2200-01-01T00:00:00Z.
const PROBE_END_DAYS: i64 = 84_006;

/// The largest jump of the wall clock, in seconds, that Debian cron treats as a daylight-saving
/// change rather than as the clock being set: three hours, as in `cron.c`.
pub(crate) const LARGE_JUMP_SECONDS: i64 = 3 * 3600;
/// Forward jumps up to this many seconds are handled by running every missed unit, wildcard
/// jobs included (`cron.c`'s "woke up late" case, a difference of at most 5 minutes).
pub(crate) const SMALL_JUMP_SECONDS: i64 = 5 * 60;

/// How Debian cron classifies the step from the virtual time to a new wall time (`cron.c`'s
/// `wakeupKind`). `difference` is new wall unit minus virtual time, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// The next unit: every job whose time matches runs.
    Normal,
    /// The clock went back (or stands still) by less than three hours: only wildcard jobs run,
    /// the virtual time stays where it was until the clock catches up.
    Repeat,
    /// The clock jumped ahead by at most five minutes: every job runs for every missed unit.
    SmallGap,
    /// The clock jumped ahead by at most three hours: wildcard jobs run for the new time,
    /// fixed-time jobs for every missed unit.
    Gap,
    /// The clock jumped by three hours or more (either way): the virtual time is reset and
    /// every job runs for the new time only.
    Jump,
}

impl Step {
    pub(crate) fn classify(difference: i64, unit: i64) -> Step {
        if difference == unit {
            Step::Normal
        } else if difference <= -LARGE_JUMP_SECONDS || difference > LARGE_JUMP_SECONDS {
            Step::Jump
        } else if difference <= 0 {
            Step::Repeat
        } else if difference <= SMALL_JUMP_SECONDS {
            Step::SmallGap
        } else {
            Step::Gap
        }
    }

    /// The virtual time after this step.
    pub(crate) fn virtual_time_after(self, virtual_before: i64, wall: i64) -> i64 {
        match self {
            Step::Repeat => virtual_before,
            _ => wall,
        }
    }
}

/// The resolution of an expression: one minute for five fields, one second for six.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    Minute,
    Second,
}

impl Resolution {
    pub(crate) fn seconds(self) -> i64 {
        match self {
            Resolution::Minute => 60,
            Resolution::Second => 1,
        }
    }

    /// `wall` rounded down to the resolution.
    pub(crate) fn floor(self, wall: i64) -> i64 {
        let unit = self.seconds();
        wall.div_euclid(unit) * unit
    }
}

/// A zone's offset history as segments `[start, next start)` of constant total offset.
pub(crate) struct ZoneSegments {
    tz: Tz,
    /// Start instant (Unix seconds) of each segment; the first is `i64::MIN`.
    starts: Vec<i64>,
    /// Total UTC offset of each segment, in seconds.
    offsets: Vec<i64>,
    /// The virtual time just before each segment starts, at minute resolution.
    virtual_before_minute: Vec<i64>,
    /// The same at second resolution.
    virtual_before_second: Vec<i64>,
}

impl std::fmt::Debug for ZoneSegments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZoneSegments")
            .field("tz", &self.tz.name())
            .field("segments", &self.starts.len())
            .finish()
    }
}

fn offset_at(tz: Tz, instant: i64) -> i64 {
    match DateTime::from_timestamp(instant, 0) {
        Some(utc) => {
            i64::from(tz.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc())
        }
        None => 0,
    }
}

impl ZoneSegments {
    /// The cached table of `tz`, built on first use.
    pub(crate) fn of(tz: Tz) -> Arc<ZoneSegments> {
        static CACHE: OnceLock<RwLock<HashMap<Tz, Arc<ZoneSegments>>>> = OnceLock::new();
        let cache = CACHE.get_or_init(|| RwLock::new(HashMap::new()));
        if let Some(found) = cache.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(&tz)
        {
            return Arc::clone(found);
        }
        // Built outside the lock: two threads may build the same table, the first one wins.
        let built = Arc::new(ZoneSegments::build(tz));
        let mut writer = cache.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(writer.entry(tz).or_insert(built))
    }

    fn build(tz: Tz) -> ZoneSegments {
        let mut starts = vec![i64::MIN];
        let first_probe = PROBE_START_DAYS * SECONDS_PER_DAY;
        let mut offsets = vec![offset_at(tz, first_probe)];
        let mut previous_probe = first_probe;
        for day in PROBE_START_DAYS + 1..=PROBE_END_DAYS {
            let probe = day * SECONDS_PER_DAY;
            let probe_offset = offset_at(tz, probe);
            // Find every change in (previous_probe, probe]: bisect for the first instant whose
            // offset differs from the current one, record it, and resume from there.
            let mut low = previous_probe;
            while offsets.last().copied() != Some(probe_offset) {
                let current = offsets.last().copied().unwrap_or_default();
                let (mut before, mut after) = (low, probe);
                while after - before > 1 {
                    let middle = before + (after - before) / 2;
                    if offset_at(tz, middle) == current {
                        before = middle;
                    } else {
                        after = middle;
                    }
                }
                starts.push(after);
                offsets.push(offset_at(tz, after));
                low = after;
            }
            previous_probe = probe;
        }
        let virtual_before_minute = virtual_times(&starts, &offsets, Resolution::Minute);
        let virtual_before_second = virtual_times(&starts, &offsets, Resolution::Second);
        ZoneSegments { tz, starts, offsets, virtual_before_minute, virtual_before_second }
    }

    pub(crate) fn tz(&self) -> Tz {
        self.tz
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }

    /// The index of the segment containing `instant`.
    pub(crate) fn index_of(&self, instant: i64) -> usize {
        self.starts.partition_point(|&start| start <= instant).saturating_sub(1)
    }

    /// Start instant of segment `index` (`i64::MIN` for the first).
    pub(crate) fn start(&self, index: usize) -> i64 {
        self.starts[index]
    }

    /// End instant (exclusive) of segment `index` (`i64::MAX` for the last).
    pub(crate) fn end(&self, index: usize) -> i64 {
        self.starts.get(index + 1).copied().unwrap_or(i64::MAX)
    }

    pub(crate) fn offset(&self, index: usize) -> i64 {
        self.offsets[index]
    }

    /// The virtual time just before segment `index` starts (`i64::MIN` for the first).
    pub(crate) fn virtual_before(&self, index: usize, resolution: Resolution) -> i64 {
        match resolution {
            Resolution::Minute => self.virtual_before_minute[index],
            Resolution::Second => self.virtual_before_second[index],
        }
    }

    /// The first instant of a segment is a tick (a moment where cron looks at the clock) only
    /// when it changes the wall time at the given resolution; a sub-minute offset change can
    /// leave the wall minute as it was.
    pub(crate) fn start_is_tick(&self, index: usize, resolution: Resolution) -> bool {
        if index == 0 {
            return false;
        }
        let start = self.starts[index];
        resolution.floor(start + self.offsets[index])
            != resolution.floor(start - 1 + self.offsets[index - 1])
    }

    /// Indexes of the transitions (segment starts) in `[from, to)`.
    pub(crate) fn transitions_between(&self, from: i64, to: i64) -> std::ops::Range<usize> {
        let first = self.starts.partition_point(|&start| start < from).max(1);
        let last = self.starts.partition_point(|&start| start < to).max(first);
        first..last
    }

    /// Indexes of the segments in which the wall time `wall` occurs, around segment `near`.
    pub(crate) fn segments_with_wall(
        &self,
        wall: i64,
        near: usize,
    ) -> impl Iterator<Item = usize> + '_ {
        let low = near.saturating_sub(2);
        let high = (near + 3).min(self.starts.len());
        (low..high).filter(move |&index| {
            let instant = wall - self.offsets[index];
            self.start(index) <= instant && instant < self.end(index)
        })
    }
}

/// Replays Debian cron's virtual time over the segment starts: for each segment, the virtual
/// time just before it. Inside a segment the wall time only grows, so the virtual time at a
/// segment's end is the larger of its value after the start tick and the last wall time.
fn virtual_times(starts: &[i64], offsets: &[i64], resolution: Resolution) -> Vec<i64> {
    let unit = resolution.seconds();
    let mut result = Vec::with_capacity(starts.len());
    let mut virtual_time = i64::MIN;
    for index in 0..starts.len() {
        result.push(virtual_time);
        if index > 0 {
            let wall = resolution.floor(starts[index] + offsets[index]);
            let previous_wall = resolution.floor(starts[index] - 1 + offsets[index - 1]);
            if wall != previous_wall {
                let step = Step::classify(wall.saturating_sub(virtual_time), unit);
                virtual_time = step.virtual_time_after(virtual_time, wall);
            }
        }
        if let Some(&next_start) = starts.get(index + 1) {
            virtual_time = virtual_time.max(resolution.floor(next_start - 1 + offsets[index]));
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn berlin_2027_transitions_are_found_to_the_second() {
        let zone = ZoneSegments::of(chrono_tz::Europe::Berlin);
        // 2027-03-28T01:00:00Z (CET -> CEST) and 2027-10-31T01:00:00Z (CEST -> CET).
        let spring = 1_806_195_600;
        let autumn = 1_824_944_400;
        let index = zone.index_of(spring);
        assert_eq!(zone.start(index), spring);
        assert_eq!(zone.offset(index), 7200);
        assert_eq!(zone.offset(index - 1), 3600);
        assert_eq!(zone.end(index), autumn);
        assert_eq!(zone.offset(index + 1), 3600);
    }

    #[test]
    fn utc_is_one_segment() {
        let zone = ZoneSegments::of(chrono_tz::UTC);
        assert_eq!(zone.len(), 1);
        assert_eq!(zone.index_of(i64::MIN), 0);
        assert_eq!(zone.index_of(i64::MAX), 0);
    }

    #[test]
    fn step_classification_follows_cron_c() {
        assert_eq!(Step::classify(60, 60), Step::Normal);
        assert_eq!(Step::classify(0, 60), Step::Repeat);
        assert_eq!(Step::classify(-179 * 60, 60), Step::Repeat);
        assert_eq!(Step::classify(-180 * 60, 60), Step::Jump);
        assert_eq!(Step::classify(5 * 60, 60), Step::SmallGap);
        assert_eq!(Step::classify(6 * 60, 60), Step::Gap);
        assert_eq!(Step::classify(180 * 60, 60), Step::Gap);
        assert_eq!(Step::classify(181 * 60, 60), Step::Jump);
    }
}
