//! Proleptic Gregorian calendar arithmetic on plain integers.
//!
//! The engine works on "wall seconds": a naive local date-time counted in seconds from
//! 1970-01-01 00:00:00 (no zone attached). These helpers convert between wall seconds and
//! civil fields without going through chrono, because the matcher calls them in its hot loop.
//! The day-number algorithms are Howard Hinnant's `days_from_civil` / `civil_from_days`.

pub(crate) const SECONDS_PER_DAY: i64 = 86_400;

/// Whether `year` has a February 29th.
pub(crate) fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Number of days in `month` (1-12) of `year`.
pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of the given civil date.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date (year, month 1-12, day 1-31) of a day number since 1970-01-01.
pub(crate) fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 { month_index + 3 } else { month_index - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Weekday of a day number, 0 = Sunday ... 6 = Saturday (1970-01-01 was a Thursday).
pub(crate) fn weekday_of_days(days: i64) -> u32 {
    (days + 4).rem_euclid(7) as u32
}

/// A wall time split into civil fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub(crate) year: i64,
    pub(crate) month: u32,
    pub(crate) day: u32,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
}

impl Civil {
    pub(crate) fn from_wall(wall: i64) -> Civil {
        let days = wall.div_euclid(SECONDS_PER_DAY);
        let second_of_day = wall.rem_euclid(SECONDS_PER_DAY) as u32;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: second_of_day / 3600,
            minute: second_of_day / 60 % 60,
            second: second_of_day % 60,
        }
    }

    pub(crate) fn to_wall(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * SECONDS_PER_DAY
            + i64::from(self.hour * 3600 + self.minute * 60 + self.second)
    }
}

/// Converts wall seconds to chrono's naive date-time, if chrono can represent it.
pub(crate) fn wall_to_naive(wall: i64) -> Option<chrono::NaiveDateTime> {
    chrono::DateTime::from_timestamp(wall, 0).map(|utc| utc.naive_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip_across_four_centuries() {
        for days in -200_000..200_000 {
            let (year, month, day) = civil_from_days(days);
            assert!(day >= 1 && day <= days_in_month(year, month));
            assert_eq!(days_from_civil(year, month, day), days);
        }
    }

    #[test]
    fn day_numbers_agree_with_chrono() {
        let date = chrono::NaiveDate::from_ymd_opt(2028, 2, 29).unwrap();
        let days = days_from_civil(2028, 2, 29);
        assert_eq!(
            date.and_hms_opt(0, 0, 0).unwrap().and_utc().timestamp(),
            days * SECONDS_PER_DAY
        );
        // 2028-02-29 is a Tuesday.
        assert_eq!(weekday_of_days(days), 2);
        assert_eq!(civil_from_days(0), (1970, 1, 1));
    }

    #[test]
    fn civil_round_trips_negative_walls() {
        for wall in [-1, -86_401, -62_135_596_800, 0, 1_700_000_000] {
            assert_eq!(Civil::from_wall(wall).to_wall(), wall);
        }
    }
}
