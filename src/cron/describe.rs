//! Plain-English descriptions of expressions.
//!
//! The describer prefers a natural phrase ("At 09:00, Monday through Friday") and falls back
//! to listing a field's values ("At minutes 5,20,35,50 past hours 1-3") whenever no phrase
//! says exactly the same thing. A description may be clumsy; it must never be wrong.

use super::parse::{CronFields, Item, ParsedField};

const WEEKDAYS: [&str; 7] =
    ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const MONTHS: [&str; 13] = [
    "",
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn bits_in(bits: u64, min: u32, max: u32) -> Vec<u32> {
    (min..=max).filter(|&value| bits & (1 << value) != 0).collect()
}

fn full(min: u32, max: u32) -> u64 {
    (min..=max).fold(0, |bits, value| bits | 1 << value)
}

/// "1st", "2nd", "3rd", "4th", ...
pub(crate) fn ordinal(n: u32) -> String {
    let suffix = match (n % 10, n % 100) {
        (1, 11) | (2, 12) | (3, 13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// Joins words as people do: "a", "a and b", "a, b and c" (or with "or").
fn join_words(words: &[String], conjunction: &str) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} {conjunction} {last}", init.join(", ")),
    }
}

/// Values as a compact list: runs of three or more become ranges ("1-3,20,22").
fn compact(values: &[u32]) -> String {
    let mut parts = Vec::new();
    let mut index = 0;
    while index < values.len() {
        let start = values[index];
        let mut end_index = index;
        while end_index + 1 < values.len() && values[end_index + 1] == values[end_index] + 1 {
            end_index += 1;
        }
        if end_index - index >= 2 {
            parts.push(format!("{start}-{}", values[end_index]));
            index = end_index + 1;
        } else {
            parts.push(start.to_string());
            index += 1;
        }
    }
    parts.join(",")
}

/// The step of a field written as a single `*/S`, if that is how it was written.
fn star_step(field: &ParsedField) -> Option<u32> {
    match field.items.as_slice() {
        [Item::Every { step }] => Some(*step),
        _ => None,
    }
}

/// "1 minute", "15 minutes".
fn plural(count: u32, singular: &str) -> String {
    if count == 1 {
        format!("1 {singular}")
    } else {
        format!("{count} {singular}s")
    }
}

fn clock(hour: u32, minute: u32, second: Option<u32>) -> String {
    match second {
        Some(second) => format!("{hour:02}:{minute:02}:{second:02}"),
        None => format!("{hour:02}:{minute:02}"),
    }
}

/// The time-of-day part of a description.
fn time_phrase(fields: &CronFields) -> String {
    let seconds = bits_in(fields.second.bits, 0, 59);
    let minutes = bits_in(fields.minute.bits, 0, 59);
    let hours = bits_in(fields.hour.bits, 0, 23);
    let all_minutes = fields.minute.bits == full(0, 59);
    let all_hours = fields.hour.bits == full(0, 23);
    let all_seconds = fields.second.bits == full(0, 59);
    let only_second = match seconds.as_slice() {
        [second] => Some(*second),
        _ => None,
    };

    if only_second.is_none() {
        // Sub-minute schedules: natural phrases only for the simple shapes.
        if all_minutes && all_hours {
            if all_seconds {
                return "Every second".to_owned();
            }
            if let Some(step) = star_step(&fields.second).filter(|step| 60 % step == 0) {
                return format!("Every {}", plural(step, "second"));
            }
        }
        let second_part = if all_seconds {
            "Every second".to_owned()
        } else {
            format!("At seconds {}", compact(&seconds))
        };
        return format!(
            "{second_part}{}",
            minute_hour_tail(&minutes, &hours, all_minutes, all_hours)
        );
    }
    let second = only_second.filter(|&second| second != 0);

    if !all_minutes && !all_hours && minutes.len() * hours.len() <= 4 {
        let mut times = Vec::new();
        for &hour in &hours {
            for &minute in &minutes {
                times.push(clock(hour, minute, second));
            }
        }
        return format!("At {}", join_words(&times, "and"));
    }
    let body = minute_hour_phrase(fields, &minutes, &hours, all_minutes, all_hours);
    let Some(second) = second else { return body };
    // "At second 30 of every minute", "At second 30 of minute 9 past every hour".
    let rest = match body.strip_prefix("At ") {
        Some(rest) => rest.to_owned(),
        None => {
            let mut chars = body.chars();
            match chars.next() {
                Some(first) => first.to_lowercase().collect::<String>() + chars.as_str(),
                None => body.clone(),
            }
        }
    };
    format!("At second {second} of {rest}")
}

/// " past minutes 5,20 past hours 1-3" and its simpler forms, for the sub-minute fallback.
fn minute_hour_tail(minutes: &[u32], hours: &[u32], all_minutes: bool, all_hours: bool) -> String {
    let minute_part = if all_minutes {
        String::new()
    } else {
        format!(" past minute{} {}", if minutes.len() == 1 { "" } else { "s" }, compact(minutes))
    };
    let hour_part = if all_hours {
        String::new()
    } else {
        format!(" past hour{} {}", if hours.len() == 1 { "" } else { "s" }, compact(hours))
    };
    format!("{minute_part}{hour_part}")
}

fn minute_hour_phrase(
    fields: &CronFields,
    minutes: &[u32],
    hours: &[u32],
    all_minutes: bool,
    all_hours: bool,
) -> String {
    let minute_step = star_step(&fields.minute).filter(|step| *step > 1 && 60 % step == 0);
    let hour_step = star_step(&fields.hour).filter(|step| *step > 1 && 24 % step == 0);
    let contiguous_hours = hours.windows(2).all(|pair| pair[1] == pair[0] + 1);

    // What happens within an hour.
    let within_hour = if all_minutes {
        Some("Every minute".to_owned())
    } else {
        minute_step.map(|step| format!("Every {}", plural(step, "minute")))
    };
    if let Some(within_hour) = within_hour {
        if all_hours {
            return within_hour;
        }
        if let (true, Some(&first), Some(&last)) = (contiguous_hours, hours.first(), minutes.last())
        {
            let last_hour = hours.last().copied().unwrap_or(first);
            return format!(
                "{within_hour} from {} through {}",
                clock(first, 0, None),
                clock(last_hour, last, None)
            );
        }
        return format!("{within_hour} during hours {}", compact(hours));
    }
    let minute_part = match minutes {
        [minute] => format!("At minute {minute}"),
        _ => format!("At minutes {}", compact(minutes)),
    };
    if all_hours {
        return format!("{minute_part} past every hour");
    }
    if let Some(step) = hour_step {
        return format!("{minute_part} past every {} hour", ordinal(step));
    }
    match hours {
        [hour] => format!("{minute_part} past hour {hour}"),
        _ => format!("{minute_part} past hours {}", compact(hours)),
    }
}

/// Weekday numbers (0 = Sunday) in display order, Monday first.
fn weekdays_monday_first(bits: u64) -> Vec<u32> {
    [1, 2, 3, 4, 5, 6, 0].into_iter().filter(|&day| bits & (1 << day) != 0).collect()
}

/// Plain weekdays as words; a single run of three or more is "Monday through Friday".
fn weekday_words(bits: u64, conjunction: &str) -> (String, bool) {
    let days = weekdays_monday_first(bits);
    let position = |day: u32| (day + 6) % 7;
    let contiguous = days.windows(2).all(|pair| position(pair[1]) == position(pair[0]) + 1);
    if days.len() >= 3 && contiguous {
        let (first, last) = (days[0], days[days.len() - 1]);
        return (format!("{} through {}", WEEKDAYS[first as usize], WEEKDAYS[last as usize]), true);
    }
    let words: Vec<String> = days.iter().map(|&day| WEEKDAYS[day as usize].to_owned()).collect();
    (join_words(&words, conjunction), false)
}

fn month_phrase(field: &ParsedField) -> String {
    if field.bits == full(1, 12) {
        return String::new();
    }
    let months = bits_in(field.bits, 1, 12);
    let contiguous = months.windows(2).all(|pair| pair[1] == pair[0] + 1);
    if months.len() >= 3 && contiguous {
        return format!(
            " from {} through {}",
            MONTHS[months[0] as usize],
            MONTHS[months[months.len() - 1] as usize]
        );
    }
    let words: Vec<String> =
        months.iter().map(|&month| MONTHS[month as usize].to_owned()).collect();
    format!(" in {}", join_words(&words, "and"))
}

/// "day 13", "days 1 and 15", "the last day", ... joined, with "of the month".
fn day_of_month_phrase(field: &ParsedField) -> String {
    let mut parts = Vec::new();
    let days = bits_in(field.bits, 1, 31);
    if !days.is_empty() {
        if days.len() > 2 && star_step(field).is_some() {
            let step = star_step(field).unwrap_or(1);
            parts.push(format!("every {} day starting on day 1", ordinal(step)));
        } else if days.len() == 1 {
            parts.push(format!("day {}", days[0]));
        } else if days.len() == 2 {
            parts.push(format!("days {} and {}", days[0], days[1]));
        } else {
            parts.push(format!("days {}", compact(&days)));
        }
    }
    for item in &field.items {
        match item {
            Item::LastDay => parts.push("the last day".to_owned()),
            Item::LastWeekday => parts.push("the last weekday".to_owned()),
            Item::NearestWeekday(day) => parts.push(format!("the weekday nearest day {day}")),
            Item::BeforeLast(0) => parts.push("the last day".to_owned()),
            Item::BeforeLast(1) => parts.push("the day before the last day".to_owned()),
            Item::BeforeLast(offset) => parts.push(format!("{offset} days before the last day")),
            _ => {}
        }
    }
    format!("{} of the month", join_words(&parts, "and"))
}

/// The day-of-week restriction as words, and whether it is a bare weekday run.
fn day_of_week_phrase(field: &ParsedField, conjunction: &str) -> (String, bool) {
    let mut parts = Vec::new();
    let mut bare_run = false;
    if field.bits != 0 {
        let (words, run) = weekday_words(field.bits, conjunction);
        bare_run = run;
        parts.push(words);
    }
    let mut extensions = Vec::new();
    for item in &field.items {
        match item {
            Item::NthWeekday { weekday, nth } => {
                extensions.push(format!("the {} {}", ordinal(*nth), WEEKDAYS[*weekday as usize]))
            }
            Item::LastOfWeekday(weekday) => {
                extensions.push(format!("the last {}", WEEKDAYS[*weekday as usize]))
            }
            _ => {}
        }
    }
    if !extensions.is_empty() {
        bare_run = false;
        parts.push(format!("{} of the month", join_words(&extensions, conjunction)));
    }
    (join_words(&parts, conjunction), bare_run)
}

fn day_phrase(fields: &CronFields) -> String {
    let dom = &fields.day_of_month;
    let dow = &fields.day_of_week;
    let dom_all = dom.items.iter().all(|item| matches!(item, Item::Every { step: 1 }))
        || (dom.bits == full(1, 31)
            && dom
                .items
                .iter()
                .all(|item| matches!(item, Item::Every { .. } | Item::Range { .. })));
    let dow_all = dow.bits == full(0, 6)
        && dow.items.iter().all(|item| matches!(item, Item::Every { .. } | Item::Range { .. }));
    let either = !dom.starts_with_star() && !dow.starts_with_star();
    match (dom_all, dow_all) {
        (true, true) => String::new(),
        (false, true) if either => {
            // OR with every weekday: every day matches.
            String::new()
        }
        (true, false) if either => String::new(),
        (false, true) => format!(" on {}", day_of_month_phrase(dom)),
        (true, false) => {
            let (words, bare_run) = day_of_week_phrase(dow, "and");
            if bare_run {
                format!(", {words}")
            } else {
                format!(" on {words}")
            }
        }
        (false, false) if either => {
            let (words, _) = day_of_week_phrase(dow, "and");
            format!(" on {} or on {words}", day_of_month_phrase(dom))
        }
        (false, false) => {
            let (words, _) = day_of_week_phrase(dow, "or");
            format!(" on {}, if it is {words}", day_of_month_phrase(dom))
        }
    }
}

/// Describes a cron expression, without the zone.
pub(crate) fn describe(fields: &CronFields) -> String {
    format!("{}{}{}", time_phrase(fields), day_phrase(fields), month_phrase(&fields.month))
}

/// Describes an `@every` interval.
pub(crate) fn describe_interval(period: i64) -> String {
    let units = [(86_400, "day"), (3_600, "hour"), (60, "minute"), (1, "second")];
    let mut rest = period;
    let mut parts = Vec::new();
    for (size, name) in units {
        let count = rest / size;
        rest %= size;
        if count > 0 {
            parts.push(plural(count as u32, name));
        }
    }
    let mut text = join_words(&parts, "and");
    if parts.len() == 1 {
        // "Every hour" rather than "Every 1 hour".
        if let Some(unit) = text.strip_prefix("1 ") {
            text = unit.to_owned();
        }
    }
    format!("Every {text}, counted from 1970-01-01 00:00:00 UTC")
}

#[cfg(test)]
mod tests {
    use super::super::Schedule;

    fn describe(expression: &str) -> String {
        match Schedule::parse(expression, "UTC") {
            Ok(schedule) => schedule.describe(),
            Err(error) => panic!("{expression}: {error}"),
        }
    }

    #[test]
    fn descriptions() {
        let table = [
            ("0 9 * * 1-5", "At 09:00, Monday through Friday (UTC)"),
            ("*/15 * * * *", "Every 15 minutes (UTC)"),
            ("30 * * * *", "At minute 30 past every hour (UTC)"),
            ("0 0 L * *", "At 00:00 on the last day of the month (UTC)"),
            ("0 12 * * MON#2", "At 12:00 on the 2nd Monday of the month (UTC)"),
            ("0 0 13 * 5", "At 00:00 on day 13 of the month or on Friday (UTC)"),
            ("*/30 * * * * *", "Every 30 seconds (UTC)"),
            ("5,20,35,50 1-3 * * *", "At minutes 5,20,35,50 past hours 1-3 (UTC)"),
            ("* * * * *", "Every minute (UTC)"),
            ("0 */2 * * *", "At minute 0 past every 2nd hour (UTC)"),
            ("5,10 9,17 * * *", "At 09:05, 09:10, 17:05 and 17:10 (UTC)"),
            ("0 0 1 1 *", "At 00:00 on day 1 of the month in January (UTC)"),
            ("0 0 * * SAT,SUN", "At 00:00 on Saturday and Sunday (UTC)"),
            ("0 0 15,L * *", "At 00:00 on day 15 and the last day of the month (UTC)"),
            ("0 0 1 * */7", "At 00:00 on day 1 of the month, if it is Sunday (UTC)"),
            ("0 0 1 FEB-APR/2 *", "At 00:00 on day 1 of the month in February and April (UTC)"),
            ("*/7 * * * *", "At minutes 0,7,14,21,28,35,42,49,56 past every hour (UTC)"),
            ("*/15 9-17 * * *", "Every 15 minutes from 09:00 through 17:45 (UTC)"),
            ("30 0 9 * * *", "At 09:00:30 (UTC)"),
            ("30 9 * * * *", "At second 30 of minute 9 past every hour (UTC)"),
            ("30 * * * * *", "At second 30 of every minute (UTC)"),
            ("15 */5 * * * *", "At second 15 of every 5 minutes (UTC)"),
            ("*/10 0 9 * * *", "At seconds 0,10,20,30,40,50 past minute 0 past hour 9 (UTC)"),
            ("0 0 1-31 * 5", "At 00:00 (UTC)"),
            ("0 0 * * 5-7", "At 00:00, Friday through Sunday (UTC)"),
            ("0 0 * * */2", "At 00:00 on Tuesday, Thursday, Saturday and Sunday (UTC)"),
            (
                "0 0 13 * 5#3",
                "At 00:00 on day 13 of the month or on the 3rd Friday of the month (UTC)",
            ),
            ("0 0 L-1 * *", "At 00:00 on the day before the last day of the month (UTC)"),
            ("0 0 1 3-5 *", "At 00:00 on day 1 of the month from March through May (UTC)"),
            ("* 9-17 * * *", "Every minute from 09:00 through 17:59 (UTC)"),
            ("*/45 * * * *", "At minutes 0,45 past every hour (UTC)"),
            ("0 1-3,20-23/2 * * *", "At minute 0 past hours 1-3,20,22 (UTC)"),
            ("0 0 LW * *", "At 00:00 on the last weekday of the month (UTC)"),
            ("0 0 * * 5L", "At 00:00 on the last Friday of the month (UTC)"),
            ("0 0 15W * *", "At 00:00 on the weekday nearest day 15 of the month (UTC)"),
            (
                "0 0 */2 * 1",
                "At 00:00 on every 2nd day starting on day 1 of the month, if it is Monday (UTC)",
            ),
            ("@every 15m", "Every 15 minutes, counted from 1970-01-01 00:00:00 UTC"),
            ("@every 1h30m", "Every 1 hour and 30 minutes, counted from 1970-01-01 00:00:00 UTC"),
            ("@every 1h", "Every hour, counted from 1970-01-01 00:00:00 UTC"),
        ];
        let mut failures = Vec::new();
        for (expression, expected) in table {
            let actual = describe(expression);
            if actual != expected {
                failures.push(format!("{expression}: expected {expected:?}, got {actual:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
