//! Unit tests of the public API on daylight-saving cases: one-hour shifts (New York, Berlin),
//! Lord Howe's 30-minute shift, Chatham's transitions at :45, midnight transitions (Santiago,
//! Havana) and `cron.c`'s rule for jumps of three hours or more (Samoa, 2011).

use chrono::{DateTime, NaiveDateTime, Utc};

use super::{DstAdjustment, DstEffectKind, JobKind, Occurrence, Schedule};

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap_or_else(|error| panic!("{text}: {error}")).to_utc()
}

fn wall(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M")
        .unwrap_or_else(|error| panic!("{text}: {error}"))
}

fn schedule(expression: &str, tz: &str) -> Schedule {
    Schedule::parse(expression, tz).unwrap_or_else(|error| panic!("{expression}: {error}"))
}

/// The occurrences after `after` as (instant, adjustment) pairs.
fn occurrences(
    expression: &str,
    tz: &str,
    after: &str,
    count: usize,
) -> Vec<(String, DstAdjustment)> {
    schedule(expression, tz)
        .occurrences_after(utc(after))
        .take(count)
        .map(|Occurrence { at, dst, .. }| (at.format("%Y-%m-%dT%H:%MZ").to_string(), dst))
        .collect()
}

/// The DST effects of a schedule during `year`, as text.
fn effects(expression: &str, tz: &str, year: i32) -> Vec<String> {
    let from = utc(&format!("{year}-01-01T00:00:00Z"));
    let to = utc(&format!("{}-01-01T00:00:00Z", year + 1));
    schedule(expression, tz).dst_effects(from, to).iter().map(ToString::to_string).collect()
}

fn pair(at: &str, dst: DstAdjustment) -> (String, DstAdjustment) {
    (at.to_owned(), dst)
}

#[test]
fn berlin_fixed_time_effects_render_as_documented() {
    assert_eq!(
        effects("30 2 * * *", "Europe/Berlin", 2027),
        [
            "2027-03-28: 02:30 does not exist, runs at 03:00 CEST",
            "2027-10-31: 02:30 happens twice, runs once at 02:30 CEST",
        ]
    );
}

#[test]
fn berlin_wildcard_effects_render_as_documented() {
    assert_eq!(
        effects("*/15 2 * * *", "Europe/Berlin", 2027),
        [
            "2027-03-28: 02:00-02:59 does not exist, 4 runs skipped",
            "2027-10-31: 02:00-02:59 happens twice, runs in both passes (CEST and CET)",
        ]
    );
}

#[test]
fn effects_are_empty_when_no_matching_time_is_touched() {
    assert!(effects("0 12 * * *", "Europe/Berlin", 2027).is_empty());
    assert!(effects("30 2 * * *", "UTC", 2027).is_empty());
    assert!(effects("@every 1h", "Europe/Berlin", 2027).is_empty());
}

#[test]
fn effects_serialize_for_the_desktop() {
    let from = utc("2027-03-01T00:00:00Z");
    let to = utc("2027-04-01T00:00:00Z");
    let found = schedule("0,30 2 * * *", "Europe/Berlin").dst_effects(from, to);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, DstEffectKind::MovedToTransition);
    assert_eq!(found[0].affected_count, 2);
    assert_eq!(
        found[0].to_string(),
        "2027-03-28: 02:00 and 02:30 do not exist, runs once at 03:00 CEST"
    );
    let json = serde_json::to_value(&found[0]).unwrap();
    assert_eq!(json["kind"], "moved_to_transition");
    assert_eq!(json["runs_at"], "2027-03-28T01:00:00Z");
}

#[test]
fn new_york_gap_moves_and_merges_fixed_time_runs() {
    assert_eq!(
        occurrences("30 2 * * *", "America/New_York", "2025-03-09T06:00:00Z", 2),
        [
            pair(
                "2025-03-09T07:00Z",
                DstAdjustment::MovedFromGap { nominal: wall("2025-03-09 02:30") }
            ),
            pair("2025-03-10T06:30Z", DstAdjustment::None),
        ]
    );
    assert_eq!(
        occurrences("0,30 2 * * *", "America/New_York", "2025-03-09T06:00:00Z", 1),
        [pair("2025-03-09T07:00Z", DstAdjustment::MergedInGap { count: 2 })]
    );
    // The wall time of a moved run is the time that matched, not the clock at the transition.
    let moved =
        schedule("30 2 * * *", "America/New_York").occurrence_after(utc("2025-03-09T06:00:00Z"));
    assert_eq!(moved.map(|occurrence| occurrence.wall), Some(wall("2025-03-09 02:30")));
}

#[test]
fn new_york_overlap_runs_fixed_time_jobs_once_and_wildcard_jobs_twice() {
    assert_eq!(
        occurrences("30 1 * * *", "America/New_York", "2025-11-02T04:00:00Z", 2),
        [
            pair("2025-11-02T05:30Z", DstAdjustment::FirstPassOnly),
            pair("2025-11-03T06:30Z", DstAdjustment::None)
        ]
    );
    assert_eq!(
        occurrences("*/30 1 * * *", "America/New_York", "2025-11-02T04:59:00Z", 4),
        [
            pair("2025-11-02T05:00Z", DstAdjustment::None),
            pair("2025-11-02T05:30Z", DstAdjustment::None),
            pair("2025-11-02T06:00Z", DstAdjustment::SecondPass),
            pair("2025-11-02T06:30Z", DstAdjustment::SecondPass),
        ]
    );
    // Starting inside the second pass: the first pass's 01:50 counts as done.
    let next = schedule("50 1 * * *", "America/New_York").next_after(utc("2025-11-02T06:40:00Z"));
    assert_eq!(next, Some(utc("2025-11-03T06:50:00Z")));
}

#[test]
fn lord_howe_half_hour_shifts() {
    // 2026-10-04 02:00 +1030 becomes 02:30 +11 at 15:30Z.
    assert_eq!(
        occurrences("15 2 * * *", "Australia/Lord_Howe", "2026-10-03T15:00:00Z", 2),
        [
            pair(
                "2026-10-03T15:30Z",
                DstAdjustment::MovedFromGap { nominal: wall("2026-10-04 02:15") }
            ),
            pair("2026-10-04T15:15Z", DstAdjustment::None),
        ]
    );
    assert_eq!(
        effects("15 2 * * *", "Australia/Lord_Howe", 2026)[0],
        "2026-10-04: 02:15 does not exist, runs at 02:30 +11"
    );
    // 2026-04-05 02:00 +11 becomes 01:30 +1030 at 15:00Z: 01:30-01:59 happens twice.
    assert_eq!(
        occurrences("45 1 * * *", "Australia/Lord_Howe", "2026-04-04T14:00:00Z", 2),
        [
            pair("2026-04-04T14:45Z", DstAdjustment::FirstPassOnly),
            pair("2026-04-05T15:15Z", DstAdjustment::None)
        ]
    );
    assert_eq!(
        occurrences("*/15 1 * * *", "Australia/Lord_Howe", "2026-04-04T14:00:00Z", 6),
        [
            pair("2026-04-04T14:15Z", DstAdjustment::None),
            pair("2026-04-04T14:30Z", DstAdjustment::None),
            pair("2026-04-04T14:45Z", DstAdjustment::None),
            pair("2026-04-04T15:00Z", DstAdjustment::SecondPass),
            pair("2026-04-04T15:15Z", DstAdjustment::SecondPass),
            pair("2026-04-05T14:30Z", DstAdjustment::None),
        ]
    );
    assert_eq!(
        effects("*/15 1 * * *", "Australia/Lord_Howe", 2026)[0],
        "2026-04-05: 01:30-01:59 happens twice, runs in both passes (+11 and +1030)"
    );
}

#[test]
fn chatham_transitions_at_quarter_to() {
    // 2026-09-27 02:45 +1245 becomes 03:45 +1345 at 14:00Z.
    assert_eq!(
        occurrences("0 3 * * *", "Pacific/Chatham", "2026-09-26T13:00:00Z", 2),
        [
            pair(
                "2026-09-26T14:00Z",
                DstAdjustment::MovedFromGap { nominal: wall("2026-09-27 03:00") }
            ),
            pair("2026-09-27T13:15Z", DstAdjustment::None),
        ]
    );
    assert_eq!(
        effects("*/30 * * * *", "Pacific/Chatham", 2026)[1],
        "2026-09-27: 02:45-03:44 does not exist, 2 runs skipped"
    );
    assert_eq!(
        occurrences("*/30 * * * *", "Pacific/Chatham", "2026-09-26T13:40:00Z", 2),
        [
            pair("2026-09-26T13:45Z", DstAdjustment::None),
            pair("2026-09-26T14:15Z", DstAdjustment::None)
        ]
    );
    // 2026-04-05 03:45 +1345 becomes 02:45 +1245 at 14:00Z.
    assert_eq!(
        occurrences("0 3 * * *", "Pacific/Chatham", "2026-04-04T13:00:00Z", 2),
        [
            pair("2026-04-04T13:15Z", DstAdjustment::FirstPassOnly),
            pair("2026-04-05T14:15Z", DstAdjustment::None)
        ]
    );
    assert_eq!(
        effects("0 3 * * *", "Pacific/Chatham", 2026)[0],
        "2026-04-05: 03:00 happens twice, runs once at 03:00 +1345"
    );
}

#[test]
fn santiago_transitions_at_midnight() {
    // 2026-09-06 00:00 -04 becomes 01:00 -03 at 04:00Z.
    assert_eq!(
        occurrences("30 0 * * *", "America/Santiago", "2026-09-05T12:00:00Z", 2),
        [
            pair(
                "2026-09-06T04:00Z",
                DstAdjustment::MovedFromGap { nominal: wall("2026-09-06 00:30") }
            ),
            pair("2026-09-07T03:30Z", DstAdjustment::None),
        ]
    );
    assert_eq!(
        effects("30 0 * * *", "America/Santiago", 2026)[0],
        "2026-09-06: 00:30 does not exist, runs at 01:00 -03"
    );
    // 2026-04-05 00:00 -03 becomes 2026-04-04 23:00 -04 at 03:00Z.
    assert_eq!(
        occurrences("30 23 * * *", "America/Santiago", "2026-04-04T12:00:00Z", 2),
        [
            pair("2026-04-05T02:30Z", DstAdjustment::FirstPassOnly),
            pair("2026-04-06T03:30Z", DstAdjustment::None)
        ]
    );
    assert_eq!(
        effects("30 23 * * *", "America/Santiago", 2026)[0],
        "2026-04-04: 23:30 happens twice, runs once at 23:30 -03"
    );
    // A wildcard job in the repeated hour runs again, on the previous calendar day.
    assert_eq!(
        occurrences("30 * * * *", "America/Santiago", "2026-04-05T02:00:00Z", 3),
        [
            pair("2026-04-05T02:30Z", DstAdjustment::None),
            pair("2026-04-05T03:30Z", DstAdjustment::SecondPass),
            pair("2026-04-05T04:30Z", DstAdjustment::None),
        ]
    );
}

#[test]
fn havana_transitions_at_midnight() {
    // 2026-03-08 00:00 CST becomes 01:00 CDT at 05:00Z.
    assert_eq!(
        occurrences("@daily", "America/Havana", "2026-03-07T12:00:00Z", 2),
        [
            pair(
                "2026-03-08T05:00Z",
                DstAdjustment::MovedFromGap { nominal: wall("2026-03-08 00:00") }
            ),
            pair("2026-03-09T04:00Z", DstAdjustment::None),
        ]
    );
    assert_eq!(
        effects("@daily", "America/Havana", 2026)[0],
        "2026-03-08: 00:00 does not exist, runs at 01:00 CDT"
    );
    // 2026-11-01 01:00 CDT becomes 00:00 CST at 05:00Z.
    assert_eq!(
        occurrences("@daily", "America/Havana", "2026-10-31T12:00:00Z", 2),
        [
            pair("2026-11-01T04:00Z", DstAdjustment::FirstPassOnly),
            pair("2026-11-02T05:00Z", DstAdjustment::None)
        ]
    );
    assert_eq!(
        effects("@daily", "America/Havana", 2026)[1],
        "2026-11-01: 00:00 happens twice, runs once at 00:00 CDT"
    );
}

#[test]
fn jumps_of_three_hours_or_more_follow_cron_c() {
    // Samoa skipped 2011-12-30: 23:59:59 -10 was followed by 00:00 +14 on the 31st. cron.c
    // sees a 24-hour jump, resets its virtual time and does not catch up fixed-time jobs.
    let noon = schedule("0 12 * * *", "Pacific/Apia");
    assert_eq!(noon.next_after(utc("2011-12-29T22:00:00Z")), Some(utc("2011-12-30T22:00:00Z")));
    assert_eq!(noon.prev_before(utc("2011-12-30T22:00:00Z")), Some(utc("2011-12-29T22:00:00Z")));
    assert_eq!(
        effects("0 12 * * *", "Pacific/Apia", 2011),
        ["2011-12-30: 00:00-23:59 does not exist, 1 run skipped"]
    );
}

#[test]
fn six_field_expressions_use_seconds_as_the_unit() {
    // New York 2025-03-09 02:00:00 EST becomes 03:00:00 EDT at 07:00:00Z.
    let every_ten = schedule("*/10 59 1 * * *", "America/New_York");
    assert_eq!(every_ten.kind(), JobKind::FixedTime);
    assert_eq!(
        every_ten.next_after(utc("2025-03-09T06:59:45Z")),
        Some(utc("2025-03-09T06:59:50Z"))
    );
    let in_gap = schedule("30 30 2 * * *", "America/New_York");
    let occurrence = in_gap.occurrence_after(utc("2025-03-09T06:00:00Z"));
    assert_eq!(occurrence.map(|occurrence| occurrence.at), Some(utc("2025-03-09T07:00:00Z")));
    assert_eq!(
        effects("30 30 2 * * *", "America/New_York", 2025)[0],
        "2025-03-09: 02:30:30 does not exist, runs at 03:00:00 EDT"
    );
}

#[test]
fn intervals_are_anchored_at_the_epoch() {
    let every = schedule("@every 1h30m", "Europe/Berlin");
    assert_eq!(every.kind(), JobKind::Interval);
    assert_eq!(every.next_after(utc("1970-01-01T00:00:00Z")), Some(utc("1970-01-01T01:30:00Z")));
    assert_eq!(every.next_after(utc("2027-03-28T00:59:59Z")), Some(utc("2027-03-28T01:30:00Z")));
    assert_eq!(every.prev_before(utc("2027-03-28T01:30:00Z")), Some(utc("2027-03-28T00:00:00Z")));
    assert_eq!(every.prev_before(utc("2027-03-28T01:30:00.5Z")), Some(utc("2027-03-28T01:30:00Z")));
    assert_eq!(every.min_period(), chrono::Duration::minutes(90));
}

#[test]
fn sub_second_instants_are_handled_strictly() {
    let minutely = schedule("* * * * *", "UTC");
    assert_eq!(
        minutely.next_after(utc("2027-01-01T00:00:00.5Z")),
        Some(utc("2027-01-01T00:01:00Z"))
    );
    assert_eq!(
        minutely.prev_before(utc("2027-01-01T00:00:00.5Z")),
        Some(utc("2027-01-01T00:00:00Z"))
    );
    assert_eq!(
        minutely.prev_before(utc("2027-01-01T00:00:00Z")),
        Some(utc("2026-12-31T23:59:00Z"))
    );
}

#[test]
fn the_ends_of_time_return_none_instead_of_panicking() {
    let yearly = schedule("@yearly", "Pacific/Kiritimati");
    assert_eq!(yearly.next_after(DateTime::<Utc>::MAX_UTC), None);
    assert_eq!(yearly.prev_before(DateTime::<Utc>::MIN_UTC), None);
    assert!(yearly.next_after(DateTime::<Utc>::MIN_UTC).is_some());
    assert!(yearly.prev_before(DateTime::<Utc>::MAX_UTC).is_some());
    let every = schedule("@every 1s", "UTC");
    assert_eq!(every.next_after(DateTime::<Utc>::MAX_UTC), None);
    assert_eq!(every.prev_before(DateTime::<Utc>::MIN_UTC), None);
}

#[test]
fn min_period_is_exact() {
    let cases = [
        ("*/15 * * * *", 15 * 60),
        ("0 9 * * 1-5", 86_400),
        ("0 0 29 2 *", 1461 * 86_400),
        ("0 0 1,31 * *", 86_400),
        ("*/30 * * * * *", 30),
        ("5,20 1-3 * * *", 15 * 60),
        ("0 2,22 * * *", 4 * 3600),
        ("59 23 * * *", 86_400),
        ("0 0 * * 5#3", 28 * 86_400),
    ];
    for (expression, seconds) in cases {
        assert_eq!(
            schedule(expression, "UTC").min_period(),
            chrono::Duration::seconds(seconds),
            "{expression}"
        );
    }
}

#[test]
fn rare_expressions_are_found_across_decades() {
    // Feb 29 on a Sunday (AND, because day-of-week starts with `*`).
    let rare = schedule("0 0 29 2 */7", "Europe/Berlin");
    assert_eq!(rare.next_after(utc("2021-01-01T00:00:00Z")), Some(utc("2032-02-28T23:00:00Z")));
    assert_eq!(rare.next_after(utc("2032-03-01T00:00:00Z")), Some(utc("2060-02-28T23:00:00Z")));
    assert_eq!(rare.prev_before(utc("2060-02-28T23:00:00Z")), Some(utc("2032-02-28T23:00:00Z")));
}

#[test]
fn occurrences_serialize_with_a_tagged_adjustment() {
    let occurrence =
        schedule("30 2 * * *", "America/New_York").occurrence_after(utc("2025-03-09T06:00:00Z"));
    let json = serde_json::to_value(occurrence).unwrap();
    assert_eq!(json["at"], "2025-03-09T07:00:00Z");
    assert_eq!(json["dst"]["type"], "moved_from_gap");
    assert_eq!(json["dst"]["nominal"], "2025-03-09T02:30:00");
}

#[test]
fn schedules_are_shareable_across_threads() {
    fn assert_traits<T: Clone + std::fmt::Debug + Send + Sync>() {}
    assert_traits::<Schedule>();
}
