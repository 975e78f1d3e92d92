//! The public cron test vectors (`tests/data/*.jsonl`, copied from `shared/cron`) and the
//! error contract. Each test reports every failing case at once, not just the first.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rota::cron::{CronErrorKind, Field, Schedule};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct Vector {
    id: String,
    expr: String,
    tz: String,
    after: DateTime<Utc>,
    next: Vec<DateTime<Utc>>,
}

#[derive(Debug, Deserialize)]
struct Invalid {
    id: String,
    expr: String,
    reason: String,
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn read_lines<T: for<'de> Deserialize<'de>>(name: &str) -> Vec<T> {
    let path = data_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path:?}: {error}"));
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{line}: {error}")))
        .collect()
}

fn vectors() -> Vec<Vector> {
    read_lines("vectors.jsonl")
}

fn schedule(vector: &Vector) -> Result<Schedule, String> {
    Schedule::parse(&vector.expr, &vector.tz)
        .map_err(|error| format!("{}: rejected: {error}", vector.id))
}

fn report(failures: Vec<String>, total: usize) {
    assert!(
        failures.is_empty(),
        "{} of {total} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn next_after_matches_every_vector() {
    let vectors = vectors();
    assert!(vectors.len() > 100, "the vector file looks truncated");
    let mut failures = Vec::new();
    for vector in &vectors {
        let schedule = match schedule(vector) {
            Ok(schedule) => schedule,
            Err(failure) => {
                failures.push(failure);
                continue;
            }
        };
        let mut actual = Vec::new();
        let mut cursor = vector.after;
        for _ in 0..vector.next.len() {
            match schedule.next_after(cursor) {
                Some(next) => {
                    actual.push(next);
                    cursor = next;
                }
                None => break,
            }
        }
        if actual != vector.next {
            let first_difference =
                (0..vector.next.len()).find(|&i| actual.get(i) != vector.next.get(i)).unwrap_or(0);
            failures.push(format!(
                "{} `{}` {} after {}: at #{first_difference} expected {:?}, got {:?}",
                vector.id,
                vector.expr,
                vector.tz,
                vector.after,
                vector.next.get(first_difference),
                actual.get(first_difference)
            ));
        }
    }
    report(failures, vectors.len());
}

#[test]
fn occurrences_iterator_agrees_with_next_after() {
    let vectors = vectors();
    let mut failures = Vec::new();
    for vector in &vectors {
        let Ok(schedule) = schedule(vector) else { continue };
        let instants: Vec<_> = schedule
            .occurrences_after(vector.after)
            .take(vector.next.len())
            .map(|o| o.at)
            .collect();
        if instants != vector.next {
            failures.push(format!("{}: occurrences_after gave {instants:?}", vector.id));
        }
    }
    report(failures, vectors.len());
}

#[test]
fn prev_before_walks_the_vectors_backwards() {
    let vectors = vectors();
    let mut failures = Vec::new();
    for vector in &vectors {
        let Ok(schedule) = schedule(vector) else { continue };
        for pair in vector.next.windows(2) {
            let previous = schedule.prev_before(pair[1]);
            if previous != Some(pair[0]) {
                failures.push(format!(
                    "{} `{}` {}: prev_before({}) = {previous:?}, expected {}",
                    vector.id, vector.expr, vector.tz, pair[1], pair[0]
                ));
            }
        }
        // Nothing fires in (after, next[0]), so the occurrence before next[0] is <= after.
        if let Some(first) = vector.next.first() {
            match schedule.prev_before(*first) {
                Some(previous) if previous <= vector.after => {}
                other => failures.push(format!(
                    "{}: prev_before({first}) = {other:?}, expected at or before {}",
                    vector.id, vector.after
                )),
            }
        }
    }
    report(failures, vectors.len());
}

#[test]
fn invalid_vectors_are_rejected() {
    let invalid: Vec<Invalid> = read_lines("invalid.jsonl");
    assert!(!invalid.is_empty());
    let mut failures = Vec::new();
    for case in &invalid {
        if let Ok(schedule) = Schedule::parse(&case.expr, "UTC") {
            failures.push(format!(
                "{} `{}` ({}) was accepted: {}",
                case.id,
                case.expr,
                case.reason,
                schedule.describe()
            ));
        }
    }
    report(failures, invalid.len());
}

/// The copies in `tests/data` must match the shared originals, so that an updated vector set
/// is noticed. The shared folder sits next to the checkout; when it is absent (a clone
/// elsewhere) there is nothing to compare with.
#[test]
fn data_files_match_the_shared_originals() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/cron");
    if !shared.is_dir() {
        return;
    }
    let mut failures = Vec::new();
    for name in ["vectors.jsonl", "invalid.jsonl"] {
        let ours = std::fs::read(data_dir().join(name));
        let theirs = std::fs::read(shared.join(name));
        match (ours, theirs) {
            (Ok(ours), Ok(theirs)) if ours == theirs => {}
            (Ok(_), Ok(_)) => failures.push(format!(
                "tests/data/{name} differs from {}; copy the shared file",
                shared.join(name).display()
            )),
            (ours, theirs) => failures.push(format!("{name}: {ours:?} / {theirs:?}")),
        }
    }
    report(failures, 2);
}

/// (expression, field, kind, offending text, full message)
type ErrorCase = (&'static str, Field, CronErrorKind, &'static str, &'static str);

#[test]
fn errors_name_field_text_and_what_is_allowed() {
    let cases: Vec<ErrorCase> = vec![
        ("", Field::Expression, CronErrorKind::Empty, "", "expression: \"\" is empty; allowed five fields (minute hour day-of-month month day-of-week), six with seconds first, or a macro"),
        ("* * * *", Field::Expression, CronErrorKind::WrongFieldCount { found: 4 }, "* * * *", "expression: \"* * * *\" has 4 fields; allowed five fields (minute hour day-of-month month day-of-week), six with seconds first, or a macro"),
        ("0 0 0 * * * *", Field::Expression, CronErrorKind::WrongFieldCount { found: 7 }, "0 0 0 * * * *", "expression: \"0 0 0 * * * *\" has 7 fields; allowed five fields (minute hour day-of-month month day-of-week), six with seconds first, or a macro"),
        ("60 * * * *", Field::Minute, CronErrorKind::OutOfRange { min: 0, max: 59 }, "60", "minute field: \"60\" is out of range; allowed 0-59"),
        ("0 24 * * *", Field::Hour, CronErrorKind::OutOfRange { min: 0, max: 23 }, "24", "hour field: \"24\" is out of range; allowed 0-23"),
        ("0 0 0 * *", Field::DayOfMonth, CronErrorKind::OutOfRange { min: 1, max: 31 }, "0", "day-of-month field: \"0\" is out of range; allowed 1-31, L, LW, nW, L-n or ?"),
        ("0 0 * 13 *", Field::Month, CronErrorKind::OutOfRange { min: 1, max: 12 }, "13", "month field: \"13\" is out of range; allowed 1-12 or JAN-DEC"),
        ("0 0 * * 8", Field::DayOfWeek, CronErrorKind::OutOfRange { min: 0, max: 7 }, "8", "day-of-week field: \"8\" is out of range; allowed 0-7 or SUN-SAT (0 and 7 are Sunday), nL, n#k or ?"),
        ("61 * * * * *", Field::Second, CronErrorKind::OutOfRange { min: 0, max: 59 }, "61", "second field: \"61\" is out of range; allowed 0-59"),
        ("0 1-99999999999 * * *", Field::Hour, CronErrorKind::OutOfRange { min: 0, max: 23 }, "99999999999", "hour field: \"99999999999\" is out of range; allowed 0-23"),
        ("5-1 * * * *", Field::Minute, CronErrorKind::ReversedRange, "5-1", "minute field: \"5-1\" is a reversed range (wrap-around ranges are not supported; use a list); allowed 0-59"),
        ("0 0 * * FRI-MON", Field::DayOfWeek, CronErrorKind::ReversedRange, "FRI-MON", "day-of-week field: \"FRI-MON\" is a reversed range (wrap-around ranges are not supported; use a list); allowed 0-7 or SUN-SAT (0 and 7 are Sunday), nL, n#k or ?"),
        ("*/0 * * * *", Field::Minute, CronErrorKind::ZeroStep, "*/0", "minute field: \"*/0\" has step 0; steps must be 1 or more; allowed 0-59"),
        ("1,,2 * * * *", Field::Minute, CronErrorKind::EmptyListElement, "1,,2", "minute field: \"1,,2\" has an empty list element; allowed 0-59"),
        ("0 0 * * 1,", Field::DayOfWeek, CronErrorKind::EmptyListElement, "1,", "day-of-week field: \"1,\" has an empty list element; allowed 0-7 or SUN-SAT (0 and 7 are Sunday), nL, n#k or ?"),
        ("0 0 * MON *", Field::Month, CronErrorKind::NameInWrongField { belongs_to: Field::DayOfWeek }, "MON", "month field: \"MON\" is a day-of-week name, not allowed in the month field; allowed 1-12 or JAN-DEC"),
        ("0 0 * * JAN", Field::DayOfWeek, CronErrorKind::NameInWrongField { belongs_to: Field::Month }, "JAN", "day-of-week field: \"JAN\" is a month name, not allowed in the day-of-week field; allowed 0-7 or SUN-SAT (0 and 7 are Sunday), nL, n#k or ?"),
        ("0 0 * * MONDAY", Field::DayOfWeek, CronErrorKind::UnknownName, "MONDAY", "day-of-week field: \"MONDAY\" is not a three-letter name or a number; allowed 0-7 or SUN-SAT (0 and 7 are Sunday), nL, n#k or ?"),
        ("0 0 * January *", Field::Month, CronErrorKind::UnknownName, "January", "month field: \"January\" is not a three-letter name or a number; allowed 1-12 or JAN-DEC"),
        ("x * * * *", Field::Minute, CronErrorKind::InvalidSyntax, "x", "minute field: \"x\" is not a number; allowed 0-59"),
        ("0 \u{663} * * *", Field::Hour, CronErrorKind::NonAscii, "\u{663}", "hour field: \"\u{663}\" is a non-ASCII digit; only ASCII digits and letters are understood; allowed 0-23"),
        ("0 0 * * MON#6", Field::DayOfWeek, CronErrorKind::OutOfRange { min: 1, max: 5 }, "MON#6", "day-of-week field: \"MON#6\" asks for an occurrence outside 1-5 (a month has at most five of each weekday); allowed 0-7 or SUN-SAT (0 and 7 are Sunday), nL, n#k or ?"),
        ("0 0 30 2 *", Field::DayOfMonth, CronErrorKind::NeverFires, "30", "day-of-month field: \"30\" never matches a day in the selected months (month field \"2\"), so the expression would never fire; allowed days that exist in at least one selected month"),
        ("0 0 31 4,6,9,11 *", Field::DayOfMonth, CronErrorKind::NeverFires, "31", "day-of-month field: \"31\" never matches a day in the selected months (month field \"4,6,9,11\"), so the expression would never fire; allowed days that exist in at least one selected month"),
        ("0 0 L-30 2 *", Field::DayOfMonth, CronErrorKind::NeverFires, "L-30", "day-of-month field: \"L-30\" never matches a day in the selected months (month field \"2\"), so the expression would never fire; allowed days that exist in at least one selected month"),
        ("@reboot", Field::Expression, CronErrorKind::NotATimeSchedule, "@reboot", "expression: \"@reboot\" runs once when cron starts, it is not a time schedule; allowed @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>"),
        ("@fortnightly", Field::Expression, CronErrorKind::UnknownMacro, "@fortnightly", "expression: \"@fortnightly\" is not a known macro; allowed @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>"),
        ("@every 0m", Field::Expression, CronErrorKind::InvalidInterval, "0m", "expression: \"0m\" is not a positive duration; allowed a positive duration made of whole numbers with units d, h, m and s, such as 15m or 1h30m (at most 100 years)"),
    ];
    let mut failures = Vec::new();
    for (expression, field, kind, text, message) in &cases {
        match Schedule::parse(expression, "UTC") {
            Ok(_) => failures.push(format!("`{expression}` was accepted")),
            Err(error) => {
                let span_text = expression.get(error.span()).unwrap_or("<bad span>");
                if error.field() != *field
                    || error.kind() != kind
                    || error.text() != *text
                    || error.to_string() != *message
                    || (span_text != *text && !text.is_empty())
                {
                    failures.push(format!(
                        "`{expression}`: got field {:?}, kind {:?}, text {:?}, span {:?} ({span_text:?}), message {:?}",
                        error.field(),
                        error.kind(),
                        error.text(),
                        error.span(),
                        error.to_string()
                    ));
                }
            }
        }
    }
    report(failures, cases.len());
}

#[test]
fn unknown_time_zone_is_a_time_zone_error() {
    let error = Schedule::parse("0 0 * * *", "Mars/Olympus_Mons").expect_err("rejected");
    assert_eq!(error.field(), Field::TimeZone);
    assert_eq!(error.kind(), &CronErrorKind::UnknownTimeZone);
    assert_eq!(error.text(), "Mars/Olympus_Mons");
    assert_eq!(
        error.to_string(),
        "time zone: \"Mars/Olympus_Mons\" is not a time zone of the IANA database; allowed IANA \
         names such as UTC, Europe/Berlin or America/New_York"
    );
}

#[test]
fn accepted_edge_syntax() {
    let accepted = [
        "*/60 * * * *",
        "0 */24 * * *",
        "05 09 * * *",
        "0 0 * * SUN-SAT",
        "0 0 1 feb-apr/2 *",
        "0 0 ? * MON",
        "0 0 15W * ?",
        "0 0 L-3 * *",
        "0 0 * * 5L",
        "0 0 * * fri#3",
        "0 0 29 2 */7",
        "0 0 31 * 5",
        "1-1/5 * * * *",
        "\t0\t0 * * *\t",
        "@every 90s",
        "@MIDNIGHT",
    ];
    let failures: Vec<String> = accepted
        .iter()
        .filter_map(|expression| {
            Schedule::parse(expression, "Europe/Berlin")
                .err()
                .map(|error| format!("`{expression}`: {error}"))
        })
        .collect();
    report(failures, accepted.len());
}
