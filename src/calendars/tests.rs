//! iCalendar cases of our own and the examples of RFC 5545, and the rule on hand-picked days.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;

use super::*;
use crate::cron::Schedule;

/// A calendar file around `body`, with CRLF line ends as producers write them.
fn ics(body: &str) -> String {
    let mut text = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n");
    for line in body.lines() {
        text.push_str(line.trim_start());
        text.push_str("\r\n");
    }
    text.push_str("END:VCALENDAR\r\n");
    text
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

fn zone(name: &str) -> Tz {
    name.parse().unwrap()
}

/// The starts of a calendar's windows and days in `[from, to)`, in `zone`'s wall time.
fn starts(calendar: &Calendar, from: &str, to: &str, zone_name: &str) -> Vec<String> {
    let zone = zone(zone_name);
    calendar
        .spans_between(at(from), at(to), zone)
        .into_iter()
        .map(|(start, _, _)| start.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string())
        .collect()
}

fn named(name: &str, text: &str) -> NamedCalendar {
    NamedCalendar { name: name.into(), calendar: Arc::new(parse_ics(text).unwrap()) }
}

#[test]
fn an_all_day_event_covers_its_date_and_dtend_is_exclusive() {
    let calendar = parse_ics(&ics("BEGIN:VEVENT
        UID:1
        DTSTART;VALUE=DATE:20261225
        DTEND;VALUE=DATE:20261226
        SUMMARY:Christmas Day
        END:VEVENT"))
    .unwrap();
    assert_eq!(calendar.event_on_day(date("2026-12-25")).unwrap().summary, "Christmas Day");
    assert!(calendar.event_on_day(date("2026-12-26")).is_none());
    assert!(calendar.event_on_day(date("2026-12-24")).is_none());
}

#[test]
fn rfc5545_multi_day_event_ends_the_day_before_dtend() {
    // RFC 5545 3.6.1: "DTSTART;VALUE=DATE:20070628 / DTEND;VALUE=DATE:20070709", a holiday
    // from June 28 to July 8, 2007 inclusive.
    let calendar = parse_ics(&ics("BEGIN:VEVENT
        UID:20070423T123432Z-541111@example.com
        DTSTAMP:20070423T123432Z
        DTSTART;VALUE=DATE:20070628
        DTEND;VALUE=DATE:20070709
        SUMMARY:Festival International de Jazz de Montreal
        TRANSP:TRANSPARENT
        END:VEVENT"))
    .unwrap();
    let days = calendar.days_between(date("2007-06-01"), date("2007-07-31"));
    assert_eq!(days.len(), 11);
    assert_eq!(days.first().unwrap().0, date("2007-06-28"));
    assert_eq!(days.last().unwrap().0, date("2007-07-08"));
}

#[test]
fn rfc5545_anniversary_recurs_yearly_on_its_date() {
    // RFC 5545 3.6.1: an anniversary, "DTSTART;VALUE=DATE:19970102 / RRULE:FREQ=YEARLY".
    let calendar = parse_ics(&ics("BEGIN:VEVENT
        UID:19970901T130000Z-123403@example.com
        DTSTAMP:19970901T130000Z
        DTSTART;VALUE=DATE:19971102
        SUMMARY:Our Blissful Anniversary
        TRANSP:TRANSPARENT
        CLASS:CONFIDENTIAL
        CATEGORIES:ANNIVERSARY,PERSONAL,SPECIAL OCCASION
        RRULE:FREQ=YEARLY
        END:VEVENT"))
    .unwrap();
    for year in [1997, 2026, 2100] {
        let day = NaiveDate::from_ymd_opt(year, 11, 2).unwrap();
        assert_eq!(calendar.event_on_day(day).unwrap().summary, "Our Blissful Anniversary");
    }
    assert!(calendar.event_on_day(date("1996-11-02")).is_none());
}

#[test]
fn rfc5545_monthly_on_the_first_friday_for_ten_occurrences() {
    // RFC 5545 3.8.5.3: "DTSTART;TZID=America/New_York:19970905T090000 /
    // RRULE:FREQ=MONTHLY;COUNT=10;BYDAY=1FR".
    let calendar = parse_ics(&ics("BEGIN:VEVENT
        UID:a
        DTSTART;TZID=America/New_York:19970905T090000
        DURATION:PT1H
        RRULE:FREQ=MONTHLY;COUNT=10;BYDAY=1FR
        END:VEVENT"))
    .unwrap();
    let got = starts(&calendar, "1997-01-01T00:00:00Z", "1999-01-01T00:00:00Z", "America/New_York");
    let want: Vec<String> = [
        "1997-09-05",
        "1997-10-03",
        "1997-11-07",
        "1997-12-05",
        "1998-01-02",
        "1998-02-06",
        "1998-03-06",
        "1998-04-03",
        "1998-05-01",
        "1998-06-05",
    ]
    .iter()
    .map(|day| format!("{day} 09:00"))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn rfc5545_second_to_last_monday_and_every_other_week_until() {
    // RFC 5545 3.8.5.3: "RRULE:FREQ=MONTHLY;COUNT=6;BYDAY=-2MO" from 1997-09-22.
    let calendar = parse_ics(&ics("BEGIN:VEVENT
        UID:b
        DTSTART;TZID=America/New_York:19970922T090000
        RRULE:FREQ=MONTHLY;COUNT=6;BYDAY=-2MO
        END:VEVENT"))
    .unwrap();
    let got = starts(&calendar, "1997-01-01T00:00:00Z", "1999-01-01T00:00:00Z", "America/New_York");
    assert_eq!(
        got,
        [
            "1997-09-22 09:00",
            "1997-10-20 09:00",
            "1997-11-17 09:00",
            "1997-12-22 09:00",
            "1998-01-19 09:00",
            "1998-02-16 09:00"
        ]
    );
    // "Every other week on Monday, Wednesday, and Friday until December 24, 1997, starting on
    // Monday, September 1, 1997": 25 occurrences, the last on December 22.
    let calendar = parse_ics(&ics("BEGIN:VEVENT
        UID:c
        DTSTART;TZID=America/New_York:19970901T090000
        RRULE:FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR
        END:VEVENT"))
    .unwrap();
    let got = starts(&calendar, "1997-01-01T00:00:00Z", "1999-01-01T00:00:00Z", "America/New_York");
    assert_eq!(got.len(), 25);
    assert_eq!(got.first().unwrap(), "1997-09-01 09:00");
    assert_eq!(got.last().unwrap(), "1997-12-22 09:00");
}

#[test]
fn ordinal_weekdays_thanksgiving_and_last_workday() {
    // US Thanksgiving: the fourth Thursday of November (BYDAY=4TH), all day.
    let calendar = parse_ics(&ics("BEGIN:VEVENT
        UID:t
        DTSTART;VALUE=DATE:20201126
        RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=4TH
        SUMMARY:Thanksgiving
        END:VEVENT
        BEGIN:VEVENT
        UID:m
        DTSTART;VALUE=DATE:20200525
        RRULE:FREQ=YEARLY;BYMONTH=5;BYDAY=-1MO
        SUMMARY:Memorial Day
        END:VEVENT
        BEGIN:VEVENT
        UID:w
        DTSTART;VALUE=DATE:20260130
        RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1
        SUMMARY:Month-end close
        END:VEVENT"))
    .unwrap();
    for day in ["2026-11-26", "2027-11-25", "2030-11-28"] {
        assert_eq!(calendar.event_on_day(date(day)).unwrap().summary, "Thanksgiving");
    }
    for day in ["2026-05-25", "2027-05-31"] {
        assert_eq!(calendar.event_on_day(date(day)).unwrap().summary, "Memorial Day");
    }
    // Last weekdays: 2026-02-27 (Fri), 2026-05-29 (Fri), 2026-08-31 (Mon).
    for day in ["2026-02-27", "2026-05-29", "2026-08-31"] {
        assert_eq!(calendar.event_on_day(date(day)).unwrap().summary, "Month-end close");
    }
    assert!(calendar.event_on_day(date("2026-05-31")).is_none());
}

#[test]
fn exdate_rdate_and_an_override_change_the_series() {
    // RFC 5545 3.8.5.2's RDATE list of dates, and EXDATE removing one instance of a rule.
    let calendar = parse_ics(&ics("BEGIN:VEVENT
        UID:r
        DTSTART;VALUE=DATE:19970101
        RDATE;VALUE=DATE:19970120,19970217,19970421
        SUMMARY:Federal holidays
        END:VEVENT
        BEGIN:VEVENT
        UID:weekly
        DTSTART;TZID=Europe/Berlin:20261005T020000
        DTEND;TZID=Europe/Berlin:20261005T040000
        RRULE:FREQ=WEEKLY;BYDAY=MO
        EXDATE;TZID=Europe/Berlin:20261012T020000
        SUMMARY:Maintenance
        END:VEVENT
        BEGIN:VEVENT
        UID:weekly
        RECURRENCE-ID;TZID=Europe/Berlin:20261019T020000
        DTSTART;TZID=Europe/Berlin:20261020T030000
        DTEND;TZID=Europe/Berlin:20261020T050000
        SUMMARY:Maintenance (moved)
        END:VEVENT"))
    .unwrap();
    let days: Vec<NaiveDate> = calendar
        .days_between(date("1997-01-01"), date("1997-12-31"))
        .into_iter()
        .map(|(day, _)| day)
        .collect();
    assert_eq!(
        days,
        [date("1997-01-01"), date("1997-01-20"), date("1997-02-17"), date("1997-04-21")]
    );
    let got = starts(&calendar, "2026-10-01T00:00:00Z", "2026-10-27T00:00:00Z", "Europe/Berlin");
    assert_eq!(got, ["2026-10-05 02:00", "2026-10-20 03:00", "2026-10-26 02:00"]);
    let berlin = zone("Europe/Berlin");
    // 2026-10-26 is after the clocks went back: 02:30 CET is 01:30Z.
    assert!(calendar.timed_event_at(at("2026-10-26T01:30:00Z"), berlin).is_some());
    assert!(calendar.timed_event_at(at("2026-10-26T03:00:00Z"), berlin).is_none());
}

#[test]
fn folded_lines_crlf_and_escapes_are_read() {
    let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:f\r\nDTSTART;VALUE=DATE\r\n :20261231\r\nSUMMARY:New Year\\, \r\n\tEve\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    let calendar = parse_ics(text).unwrap();
    assert_eq!(calendar.event_on_day(date("2026-12-31")).unwrap().summary, "New Year, Eve");
    // Plain LF files are read the same.
    let calendar = parse_ics(&text.replace("\r\n", "\n")).unwrap();
    assert_eq!(calendar.events().len(), 1);
}

#[test]
fn a_floating_window_is_read_in_the_jobs_zone() {
    let calendar = parse_ics(&ics("BEGIN:VEVENT
        UID:w
        DTSTART:20270110T020000
        DTEND:20270110T040000
        SUMMARY:Backups
        END:VEVENT"))
    .unwrap();
    let tokyo = zone("Asia/Tokyo");
    assert!(calendar.timed_event_at(at("2027-01-09T17:30:00Z"), tokyo).is_some());
    assert!(calendar.timed_event_at(at("2027-01-10T02:30:00Z"), tokyo).is_none());
    assert!(calendar.timed_event_at(at("2027-01-10T02:30:00Z"), Tz::UTC).is_some());
}

#[test]
fn cancelled_events_are_left_out() {
    let calendar = parse_ics(&ics("BEGIN:VEVENT
        UID:x
        DTSTART;VALUE=DATE:20261224
        STATUS:CANCELLED
        END:VEVENT"))
    .unwrap();
    assert!(calendar.event_on_day(date("2026-12-24")).is_none());
}

#[test]
fn errors_name_the_line_and_the_property() {
    let cases = [
        (
            "BEGIN:VEVENT\nUID:1\nDTSTART;VALUE=DATE:20261332\nEND:VEVENT",
            "line 6, DTSTART: \"20261332\" is not a date or date-time",
        ),
        (
            "BEGIN:VEVENT\nUID:1\nDTSTART;VALUE=DATE:20261201\nRRULE:FREQ=SOMETIMES\nEND:VEVENT",
            "line 7, RRULE: \"FREQ=SOMETIMES\"",
        ),
        (
            "BEGIN:VEVENT\nUID:1\nDTSTART;TZID=Mars/Olympus:20261201T090000\nEND:VEVENT",
            "line 6, DTSTART: TZID \"Mars/Olympus\" is not a time zone",
        ),
        (
            "BEGIN:VEVENT\nUID:1\nSUMMARY:no start\nEND:VEVENT",
            "line 4, DTSTART: the event has no DTSTART",
        ),
        (
            "BEGIN:VEVENT\nUID:1\nDTSTART;VALUE=DATE:20261201\nDTEND;VALUE=DATE:20261130\nEND:VEVENT",
            "line 7, DTEND: \"20261130\" is before DTSTART",
        ),
        (
            "BEGIN:VEVENT\nUID:1\nDTSTART:20261201T090000\nDURATION:1 hour\nEND:VEVENT",
            "line 7, DURATION: \"1 hour\" is not a duration",
        ),
        ("BEGIN:VEVENT\nUID:1\nDTSTART;VALUE=DATE:20261201\n", "line 8, END: \"END:VCALENDAR\" closes BEGIN:VEVENT of line 4"),
        (
            "BEGIN:VEVENT\nUID:1\nDTSTART;VALUE=DATE:20261201\nRRULE:FREQ=MINUTELY\nEND:VEVENT",
            "line 7, RRULE: FREQ=\"MINUTELY\" repeats more often than hourly",
        ),
    ];
    for (body, want) in cases {
        // Lines 1-3 are the calendar's, line 4 is BEGIN:VEVENT.
        let text = format!("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\n{body}\nEND:VCALENDAR\n");
        let error = parse_ics(&text).unwrap_err().to_string();
        assert!(error.starts_with(want), "{body:?}: got {error:?}, want {want:?}");
    }
    let error = parse_ics("hello").unwrap_err().to_string();
    assert!(error.starts_with("line 1, BEGIN:VCALENDAR"), "{error}");
    // A folded property is named at the line it starts on.
    let text = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nDTSTART;VALUE=DATE:\n 2026133\n 2\nEND:VEVENT\nEND:VCALENDAR\n";
    let error = parse_ics(text).unwrap_err().to_string();
    assert!(error.starts_with("line 4, DTSTART"), "{error}");
}

#[test]
fn dates_and_ranges_make_an_all_day_calendar() {
    let text = dates_calendar(&[date("2026-12-24")], &[(date("2026-12-28"), date("2026-12-31"))]);
    let calendar = parse_ics(&text).unwrap();
    let days: Vec<String> = calendar
        .days_between(date("2026-12-01"), date("2027-01-31"))
        .into_iter()
        .map(|(day, event)| format!("{day} {}", event.summary))
        .collect();
    assert_eq!(
        days,
        [
            "2026-12-24 2026-12-24",
            "2026-12-28 2026-12-28 to 2026-12-31",
            "2026-12-29 2026-12-28 to 2026-12-31",
            "2026-12-30 2026-12-28 to 2026-12-31",
            "2026-12-31 2026-12-28 to 2026-12-31"
        ]
    );
}

fn office() -> NamedCalendar {
    named(
        "office",
        &ics("BEGIN:VEVENT
            UID:x
            DTSTART;VALUE=DATE:20261225
            SUMMARY:Christmas Day
            END:VEVENT
            BEGIN:VEVENT
            UID:y
            DTSTART;VALUE=DATE:20261226
            SUMMARY:Boxing Day
            END:VEVENT"),
    )
}

fn runs(timetable: &Timetable<'_>, from: &str, count: usize) -> Vec<(String, Option<String>)> {
    timetable
        .runs_after(at(from), chrono::Duration::days(400))
        .take(count)
        .map(|slot| (slot.at.to_rfc3339(), slot.reason()))
        .collect()
}

#[test]
fn skip_next_and_previous_on_christmas() {
    let schedule = Schedule::parse("0 9 * * *", "Europe/Berlin").unwrap();
    let mut rule = CalendarRule { exclude: vec![office()], ..CalendarRule::default() };
    let timetable = Timetable::new(&schedule, Some(&rule));
    let (slots, truncated) =
        timetable.slots_between(at("2026-12-24T00:00:00Z"), at("2026-12-27T23:00:00Z"), 100);
    assert!(!truncated);
    let reasons: Vec<Option<String>> = slots.iter().map(Slot::reason).collect();
    assert_eq!(
        reasons,
        [
            None,
            Some("calendar office: Christmas Day".to_owned()),
            Some("calendar office: Boxing Day".to_owned()),
            None
        ]
    );

    rule.on_excluded = OnExcluded::Next;
    let schedule = Schedule::parse("0 9 * * FRI", "Europe/Berlin").unwrap();
    let timetable = Timetable::new(&schedule, Some(&rule));
    // Friday the 25th moves over Saturday the 26th (Boxing Day) to Sunday the 27th.
    assert_eq!(
        runs(&timetable, "2026-12-19T00:00:00Z", 3),
        [
            (
                "2026-12-27T08:00:00+00:00".to_owned(),
                Some(
                    "calendar office: Christmas Day; moved from 2026-12-25T08:00:00+00:00"
                        .to_owned()
                )
            ),
            ("2027-01-01T08:00:00+00:00".to_owned(), None),
            ("2027-01-08T08:00:00+00:00".to_owned(), None),
        ]
    );
    // The tick at the moved instant sees it, although its occurrence was two days before.
    let (slots, _) =
        timetable.slots_between(at("2026-12-27T07:00:00Z"), at("2026-12-27T08:00:00Z"), 100);
    assert_eq!(slots.len(), 1);
    assert!(matches!(slots[0].kind, SlotKind::Moved { .. }));
    // And the tick at Christmas itself writes nothing.
    let (slots, _) =
        timetable.slots_between(at("2026-12-25T07:00:00Z"), at("2026-12-25T09:00:00Z"), 100);
    assert!(slots.is_empty(), "{slots:?}");

    rule.on_excluded = OnExcluded::Previous;
    let timetable = Timetable::new(&schedule, Some(&rule));
    assert_eq!(runs(&timetable, "2026-12-19T00:00:00Z", 1)[0].0, "2026-12-24T08:00:00+00:00");
}

#[test]
fn a_move_onto_an_existing_run_merges_with_it() {
    let schedule = Schedule::parse("0 9 * * *", "UTC").unwrap();
    let rule = CalendarRule { exclude: vec![office()], only: None, on_excluded: OnExcluded::Next };
    let timetable = Timetable::new(&schedule, Some(&rule));
    let got: Vec<String> =
        runs(&timetable, "2026-12-24T00:00:00Z", 3).into_iter().map(|(at, _)| at).collect();
    assert_eq!(
        got,
        ["2026-12-24T09:00:00+00:00", "2026-12-27T09:00:00+00:00", "2026-12-28T09:00:00+00:00"]
    );
}

#[test]
fn only_calendar_runs_on_its_days_and_timed_windows_exclude_inside() {
    let closing = named(
        "closing",
        &ics("BEGIN:VEVENT
            UID:c
            DTSTART;VALUE=DATE:20260130
            RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1
            SUMMARY:Close
            END:VEVENT"),
    );
    let schedule = Schedule::parse("0 18 * * *", "America/New_York").unwrap();
    let rule = CalendarRule { only: Some(closing), ..CalendarRule::default() };
    let timetable = Timetable::new(&schedule, Some(&rule));
    let got: Vec<String> =
        runs(&timetable, "2026-03-01T00:00:00Z", 3).into_iter().map(|(at, _)| at).collect();
    assert_eq!(
        got,
        ["2026-03-31T22:00:00+00:00", "2026-04-30T22:00:00+00:00", "2026-05-29T22:00:00+00:00"]
    );

    let window = named(
        "maintenance",
        &ics("BEGIN:VEVENT
            UID:m
            DTSTART;TZID=Europe/Berlin:20270105T020000
            DTEND;TZID=Europe/Berlin:20270105T040000
            SUMMARY:Database upgrade
            END:VEVENT"),
    );
    let schedule = Schedule::parse("*/30 * * * *", "Europe/Berlin").unwrap();
    let rule = CalendarRule { exclude: vec![window], ..CalendarRule::default() };
    let timetable = Timetable::new(&schedule, Some(&rule));
    let (slots, _) =
        timetable.slots_between(at("2027-01-05T00:00:00Z"), at("2027-01-05T03:59:00Z"), 100);
    let excluded: Vec<String> = slots
        .iter()
        .filter(|slot| !slot.runs())
        .map(|slot| slot.at.format("%H:%M").to_string())
        .collect();
    // 02:00 to 04:00 in Berlin is 01:00 to 03:00 UTC; the end is exclusive.
    assert_eq!(excluded, ["01:00", "01:30", "02:00", "02:30"]);
    assert_eq!(slots[2].reason().unwrap(), "calendar maintenance: Database upgrade");
}

#[test]
fn a_move_into_a_spring_forward_gap_runs_at_the_transition() {
    // 02:30 does not exist in Berlin on 2027-03-28; Saturday the 27th is excluded, so its run
    // moves to the 28th and runs at 03:00 CEST (01:00Z), as cron runs a fixed-time job.
    let saturday = named("sat", &dates_calendar(&[date("2027-03-27")], &[]));
    let schedule = Schedule::parse("30 2 * * *", "Europe/Berlin").unwrap();
    let rule = CalendarRule { exclude: vec![saturday], only: None, on_excluded: OnExcluded::Next };
    let timetable = Timetable::new(&schedule, Some(&rule));
    let got: Vec<String> =
        runs(&timetable, "2027-03-26T12:00:00Z", 2).into_iter().map(|(at, _)| at).collect();
    // The schedule's own 28th run is also at the transition: the two merge.
    assert_eq!(got, ["2027-03-28T01:00:00+00:00", "2027-03-29T00:30:00+00:00"]);
}
