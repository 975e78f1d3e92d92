//! The naive matcher: which wall-clock times an expression selects, ignoring time zones.
//!
//! Fields are compiled to bitsets. Finding the next match jumps field by field (year, month,
//! day, hour, minute, second) and carries into the next larger field when a field runs out,
//! so the cost does not depend on how far away the match is: a month whose day mask is empty
//! is skipped as a whole, and rare expressions (`0 0 29 2 *`) cost a few dozen steps.
//!
//! The day fields are combined per month: [`DaySpec::day_mask`] computes, in constant time,
//! the 31-bit set of matching days of one (year, month) from the weekday of its first day.

use super::calendar::{days_from_civil, days_in_month, is_leap_year, weekday_of_days, Civil};

/// How far from its starting point the matcher looks before giving up. Validation guarantees
/// that every accepted expression matches at least once in every 400-year Gregorian cycle,
/// so only the ends of chrono's representable range can make a search fail.
pub(crate) const SEARCH_LIMIT_YEARS: i64 = 500;

/// How the day-of-month and day-of-week fields combine (Vixie cron's rule: AND when the text
/// of either field starts with `*`, OR otherwise).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DayCombination {
    Both,
    Either,
}

/// The compiled day-of-month and day-of-week fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DaySpec {
    /// Plain days of the month: bit d for day d (1-31).
    pub(crate) days: u32,
    /// `L`: the last day of the month.
    pub(crate) last_day: bool,
    /// `LW`: the last Monday-Friday of the month.
    pub(crate) last_weekday: bool,
    /// `nW`: bit n for "the Monday-Friday nearest to day n, within the month".
    pub(crate) nearest_weekday: u32,
    /// `L-n`: bit n for "n days before the last day of the month".
    pub(crate) before_last: u32,
    /// Plain weekdays: bit w for weekday w (0 = Sunday).
    pub(crate) weekdays: u8,
    /// `w#k`: for weekday w, bit k (1-5) for "the k-th such weekday of the month".
    pub(crate) nth_weekday: [u8; 7],
    /// `wL`: bit w for "the last such weekday of the month".
    pub(crate) last_of_weekday: u8,
    pub(crate) combination: DayCombination,
    /// `weekday_patterns[f]`: the plain-weekday days of a month whose first day is weekday f.
    weekday_patterns: [u32; 7],
}

/// Bits 1..=days set.
fn month_days_mask(days: u32) -> u32 {
    ((1u64 << (days + 1)) - 2) as u32
}

impl DaySpec {
    #[allow(clippy::too_many_arguments)] // One argument per extension; a builder adds nothing.
    pub(crate) fn new(
        days: u32,
        last_day: bool,
        last_weekday: bool,
        nearest_weekday: u32,
        before_last: u32,
        weekdays: u8,
        nth_weekday: [u8; 7],
        last_of_weekday: u8,
        combination: DayCombination,
    ) -> DaySpec {
        let mut weekday_patterns = [0u32; 7];
        for (first, pattern) in weekday_patterns.iter_mut().enumerate() {
            for day in 1..=31u32 {
                let weekday = (first as u32 + day - 1) % 7;
                if weekdays & (1 << weekday) != 0 {
                    *pattern |= 1 << day;
                }
            }
        }
        DaySpec {
            days,
            last_day,
            last_weekday,
            nearest_weekday,
            before_last,
            weekdays,
            nth_weekday,
            last_of_weekday,
            combination,
            weekday_patterns,
        }
    }

    /// The matching days of `month` in `year`: bit d set when day d matches.
    pub(crate) fn day_mask(&self, year: i64, month: u32) -> u32 {
        let length = days_in_month(year, month);
        let first_weekday = weekday_of_days(days_from_civil(year, month, 1));
        self.day_mask_with(length, first_weekday)
    }

    /// [`Self::day_mask`] for a month of `length` days starting on `first_weekday`.
    pub(crate) fn day_mask_with(&self, length: u32, first_weekday: u32) -> u32 {
        let valid = month_days_mask(length);
        let weekday_of = |day: u32| (first_weekday + day - 1) % 7;

        let mut by_date = self.days;
        if self.last_day {
            by_date |= 1 << length;
        }
        if self.last_weekday {
            let last = match weekday_of(length) {
                6 => length - 1,
                0 => length - 2,
                _ => length,
            };
            by_date |= 1 << last;
        }
        let mut nearest = self.nearest_weekday & valid;
        while nearest != 0 {
            let day = nearest.trailing_zeros();
            nearest &= nearest - 1;
            let target = match weekday_of(day) {
                // Saturday: the Friday before, unless that leaves the month.
                6 if day == 1 => 3,
                6 => day - 1,
                // Sunday: the Monday after, unless that leaves the month.
                0 if day == length => day - 2,
                0 => day + 1,
                _ => day,
            };
            by_date |= 1 << target;
        }
        let mut before_last = self.before_last;
        while before_last != 0 {
            let offset = before_last.trailing_zeros();
            before_last &= before_last - 1;
            if offset < length {
                by_date |= 1 << (length - offset);
            }
        }
        by_date &= valid;

        let mut by_weekday = self.weekday_patterns[first_weekday as usize];
        for (weekday, &occurrences) in self.nth_weekday.iter().enumerate() {
            if occurrences == 0 {
                continue;
            }
            let first = 1 + (weekday as u32 + 7 - first_weekday) % 7;
            let mut occurrences = occurrences;
            while occurrences != 0 {
                let k = occurrences.trailing_zeros();
                occurrences &= occurrences - 1;
                let day = first + 7 * (k - 1);
                if day <= length {
                    by_weekday |= 1 << day;
                }
            }
        }
        if self.last_of_weekday != 0 {
            let last_weekday = weekday_of(length);
            let mut weekdays = self.last_of_weekday;
            while weekdays != 0 {
                let weekday = weekdays.trailing_zeros();
                weekdays &= weekdays - 1;
                by_weekday |= 1 << (length - (last_weekday + 7 - weekday) % 7);
            }
        }
        by_weekday &= valid;

        match self.combination {
            DayCombination::Both => by_date & by_weekday,
            DayCombination::Either => by_date | by_weekday,
        }
    }
}

/// The compiled expression: which wall-clock times match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matcher {
    pub(crate) seconds: u64,
    pub(crate) minutes: u64,
    pub(crate) hours: u64,
    /// Bit m for month m (1-12).
    pub(crate) months: u64,
    pub(crate) days: DaySpec,
    /// For each type of year (see [`year_type`]), the selected months that have at least one
    /// matching day. The search skips a year without matching months in one step, which keeps
    /// `0 0 29 2 */7` (every 28 years or so) cheap.
    months_by_year_type: [u64; 14],
}

/// A year's calendar is fixed by whether it is a leap year and the weekday of January 1st:
/// fourteen types.
fn year_type(year: i64) -> usize {
    let first_weekday = weekday_of_days(days_from_civil(year, 1, 1)) as usize;
    usize::from(is_leap_year(year)) * 7 + first_weekday
}

/// Set bits of `bits` at positions >= `from` (`from` < 64).
fn at_or_above(bits: u64, from: u32) -> u64 {
    bits & (u64::MAX << from)
}

/// Set bits of `bits` at positions <= `to` (`to` < 63).
fn at_or_below(bits: u64, to: u32) -> u64 {
    bits & ((2u64 << to) - 1)
}

impl Matcher {
    pub(crate) fn new(
        seconds: u64,
        minutes: u64,
        hours: u64,
        months: u64,
        days: DaySpec,
    ) -> Matcher {
        let mut months_by_year_type = [0u64; 14];
        for (index, entry) in months_by_year_type.iter_mut().enumerate() {
            let leap = index >= 7;
            let mut first_weekday = (index % 7) as u32;
            for month in 1..=12u32 {
                let length = match month {
                    2 if leap => 29,
                    2 => 28,
                    4 | 6 | 9 | 11 => 30,
                    _ => 31,
                };
                if months & (1 << month) != 0 && days.day_mask_with(length, first_weekday) != 0 {
                    *entry |= 1 << month;
                }
                first_weekday = (first_weekday + length) % 7;
            }
        }
        Matcher { seconds, minutes, hours, months, days, months_by_year_type }
    }

    /// The smallest matching wall time strictly after `wall`, within [`SEARCH_LIMIT_YEARS`].
    pub(crate) fn next_after(&self, wall: i64) -> Option<i64> {
        let start = Civil::from_wall(wall.checked_add(1)?);
        self.first_at_or_after(start, start.year + SEARCH_LIMIT_YEARS).map(Civil::to_wall)
    }

    /// The largest matching wall time at or before `wall`, within [`SEARCH_LIMIT_YEARS`].
    pub(crate) fn last_at_or_before(&self, wall: i64) -> Option<i64> {
        let start = Civil::from_wall(wall);
        self.last_at_or_before_civil(start, start.year - SEARCH_LIMIT_YEARS).map(Civil::to_wall)
    }

    /// The smallest matching wall time in `(wall, limit]`; the search stops at `limit`'s year.
    pub(crate) fn next_within(&self, wall: i64, limit: i64) -> Option<i64> {
        let start = Civil::from_wall(wall.checked_add(1)?);
        let found = self.first_at_or_after(start, Civil::from_wall(limit).year)?.to_wall();
        (found <= limit).then_some(found)
    }

    /// The largest matching wall time in `(limit, wall]`; the search stops at `limit`'s year.
    pub(crate) fn last_within(&self, wall: i64, limit: i64) -> Option<i64> {
        let start = Civil::from_wall(wall);
        let found = self.last_at_or_before_civil(start, Civil::from_wall(limit).year)?.to_wall();
        (found > limit).then_some(found)
    }

    fn first_at_or_after(&self, start: Civil, year_limit: i64) -> Option<Civil> {
        let Civil { mut year, mut month, mut day, mut hour, mut minute, mut second } = start;
        // The day mask of (mask_year, mask_month), cached across carries within one month.
        let mut mask_key = (i64::MIN, 0u32);
        let mut mask = 0u64;
        let mut months_year = (i64::MIN, 0u64);
        loop {
            if year > year_limit {
                return None;
            }
            if months_year.0 != year {
                months_year = (year, self.months_by_year_type[year_type(year)]);
            }
            let months = at_or_above(months_year.1, month);
            if months == 0 {
                (year, month, day, hour, minute, second) = (year + 1, 1, 1, 0, 0, 0);
                continue;
            }
            let found = months.trailing_zeros();
            if found != month {
                (month, day, hour, minute, second) = (found, 1, 0, 0, 0);
            }
            if mask_key != (year, month) {
                mask_key = (year, month);
                mask = u64::from(self.days.day_mask(year, month));
            }
            let days = at_or_above(mask, day);
            if days == 0 {
                (month, day, hour, minute, second) = (month + 1, 1, 0, 0, 0);
                continue;
            }
            let found = days.trailing_zeros();
            if found != day {
                (day, hour, minute, second) = (found, 0, 0, 0);
            }
            let hours = at_or_above(self.hours, hour);
            if hours == 0 {
                (day, hour, minute, second) = (day + 1, 0, 0, 0);
                continue;
            }
            let found = hours.trailing_zeros();
            if found != hour {
                (hour, minute, second) = (found, 0, 0);
            }
            let minutes = at_or_above(self.minutes, minute);
            if minutes == 0 {
                (hour, minute, second) = (hour + 1, 0, 0);
                continue;
            }
            let found = minutes.trailing_zeros();
            if found != minute {
                (minute, second) = (found, 0);
            }
            let seconds = at_or_above(self.seconds, second);
            if seconds == 0 {
                (minute, second) = (minute + 1, 0);
                continue;
            }
            second = seconds.trailing_zeros();
            return Some(Civil { year, month, day, hour, minute, second });
        }
    }

    fn last_at_or_before_civil(&self, start: Civil, year_limit: i64) -> Option<Civil> {
        let Civil { mut year, mut month, mut day, mut hour, mut minute, mut second } = start;
        let mut mask_key = (i64::MIN, 0u32);
        let mut mask = 0u64;
        let mut months_year = (i64::MIN, 0u64);
        // Moving to an earlier unit resets the smaller fields to their largest values; day 31
        // stands for "the last day", the day mask never has bits past the month's end.
        loop {
            if year < year_limit {
                return None;
            }
            if months_year.0 != year {
                months_year = (year, self.months_by_year_type[year_type(year)]);
            }
            let months = if month == 0 { 0 } else { at_or_below(months_year.1, month) };
            if months == 0 {
                (year, month, day, hour, minute, second) = (year - 1, 12, 31, 23, 59, 59);
                continue;
            }
            let found = 63 - months.leading_zeros();
            if found != month {
                (month, day, hour, minute, second) = (found, 31, 23, 59, 59);
            }
            if mask_key != (year, month) {
                mask_key = (year, month);
                mask = u64::from(self.days.day_mask(year, month));
            }
            let days = if day == 0 { 0 } else { at_or_below(mask, day) };
            if days == 0 {
                (month, day, hour, minute, second) = (month - 1, 31, 23, 59, 59);
                continue;
            }
            let found = 63 - days.leading_zeros();
            if found != day {
                (day, hour, minute, second) = (found, 23, 59, 59);
            }
            let hours = at_or_below(self.hours, hour);
            if hours == 0 {
                (day, hour, minute, second) = (day - 1, 23, 59, 59);
                continue;
            }
            let found = 63 - hours.leading_zeros();
            if found != hour {
                (hour, minute, second) = (found, 59, 59);
            }
            let minutes = at_or_below(self.minutes, minute);
            if minutes == 0 {
                if hour == 0 {
                    (day, hour, minute, second) = (day - 1, 23, 59, 59);
                } else {
                    (hour, minute, second) = (hour - 1, 59, 59);
                }
                continue;
            }
            let found = 63 - minutes.leading_zeros();
            if found != minute {
                (minute, second) = (found, 59);
            }
            let seconds = at_or_below(self.seconds, second);
            if seconds == 0 {
                if minute > 0 {
                    (minute, second) = (minute - 1, 59);
                } else if hour > 0 {
                    (hour, minute, second) = (hour - 1, 59, 59);
                } else {
                    (day, hour, minute, second) = (day - 1, 23, 59, 59);
                }
                continue;
            }
            second = 63 - seconds.leading_zeros();
            return Some(Civil { year, month, day, hour, minute, second });
        }
    }

    /// Whether some day matches in some selected month of some year. The calendar repeats
    /// every 400 years and every one of the fourteen year types occurs in that cycle, so this
    /// is decided by the year-type table.
    pub(crate) fn fires_ever(&self) -> bool {
        // All fourteen year types occur in every cycle.
        self.months_by_year_type.iter().any(|&months| months != 0)
    }

    /// The smallest difference in days between two consecutive matching days, or `None` when
    /// there is at most one matching day per 400-year cycle (never, in practice).
    pub(crate) fn min_day_gap(&self) -> Option<i64> {
        let mut previous: Option<i64> = None;
        let mut smallest: Option<i64> = None;
        // One extra year so that the gap from the last day of the cycle to the first day of the
        // next one is seen.
        for year in 2000..2401 {
            for month in (1..=12u32).filter(|&month| self.months & (1 << month) != 0) {
                let mut mask = self.days.day_mask(year, month);
                let month_start = days_from_civil(year, month, 1) - 1;
                while mask != 0 {
                    let day = i64::from(mask.trailing_zeros());
                    mask &= mask - 1;
                    let current = month_start + day;
                    if let Some(previous) = previous {
                        let gap = current - previous;
                        smallest = Some(smallest.map_or(gap, |smallest: i64| smallest.min(gap)));
                        if gap == 1 {
                            return smallest;
                        }
                    }
                    previous = Some(current);
                }
            }
        }
        smallest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_weekday_stays_within_the_month() {
        let spec = DaySpec::new(
            0,
            false,
            false,
            1 << 1 | 1 << 31,
            0,
            0,
            [0; 7],
            0,
            DayCombination::Either,
        );
        // A 31-day month starting on Saturday: the 1st is a Saturday (-> Monday the 3rd), the
        // 31st is a Monday.
        assert_eq!(spec.day_mask_with(31, 6), 1 << 3 | 1 << 31);
        // A 31-day month starting on Friday: the 31st is a Sunday (-> Friday the 29th).
        assert_eq!(spec.day_mask_with(31, 5), 1 << 1 | 1 << 29);
    }

    #[test]
    fn last_weekday_and_nth_weekday() {
        // Last Friday (5L) and 2nd Monday (1#2) of February 2027 (starts on a Monday).
        let spec = DaySpec::new(
            0,
            false,
            false,
            0,
            0,
            0,
            [0, 1 << 2, 0, 0, 0, 0, 0],
            1 << 5,
            DayCombination::Either,
        );
        assert_eq!(spec.day_mask(2027, 2), 1 << 8 | 1 << 26);
    }

    #[test]
    fn next_and_previous_jump_over_years() {
        // 0 0 29 2 *
        let days = DaySpec::new(1 << 29, false, false, 0, 0, 0x7f, [0; 7], 0, DayCombination::Both);
        let matcher = Matcher::new(1, 1, 1, 1 << 2, days);
        let after = Civil { year: 2024, month: 3, day: 1, hour: 0, minute: 0, second: 0 }.to_wall();
        let next = Civil::from_wall(matcher.next_after(after).unwrap());
        assert_eq!((next.year, next.month, next.day), (2028, 2, 29));
        let previous = Civil::from_wall(matcher.last_at_or_before(after).unwrap());
        assert_eq!((previous.year, previous.month, previous.day), (2024, 2, 29));
        assert!(matcher.fires_ever());
        assert_eq!(matcher.min_day_gap(), Some(4 * 365 + 1));
    }

    #[test]
    fn never_firing_day_spec_is_detected() {
        let days = DaySpec::new(1 << 30, false, false, 0, 0, 0x7f, [0; 7], 0, DayCombination::Both);
        let matcher = Matcher::new(1, 1, 1, 1 << 2, days);
        assert!(!matcher.fires_ever());
        assert_eq!(matcher.next_after(0), None);
    }
}
