//! Property tests of the time engine against a slow, obviously correct reference.
//!
//! The reference steps through time one unit (a minute, or a second for six-field
//! expressions) at a time, reads the wall clock from chrono-tz directly, keeps Debian's
//! virtual time `V` and applies SEMANTICS.md's rule literally: a wildcard job fires at t when
//! `L(t)` matches; a fixed-time job fires at t when some v with `V(t - 1 unit) < v <= L(t)`
//! matches. Expressions are generated as structures and rendered to text; the reference checks
//! the structures with its own naive field test, so it shares no code with the library's
//! parser or matcher. Instants cluster around real transitions of the zones below.

use std::sync::OnceLock;

use chrono::{
    DateTime, Datelike, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use rota::cron::Schedule;

const ZONES: [&str; 8] = [
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/Santiago",
    "America/Havana",
    "Asia/Kolkata",
    "UTC",
];

// ---------------------------------------------------------------------------------------------
// Generated expressions.

#[derive(Debug, Clone)]
enum Item {
    /// `*` (step 1) or `*/S`.
    Star(u32),
    /// `?` (day fields only).
    Question,
    /// `A-B/S`; a plain value is `A-A/1`, rendered as `A`.
    Range(u32, u32, u32),
    /// `N/S`: N to the field's maximum.
    From(u32, u32),
    LastDay,
    LastWeekday,
    NearestWeekday(u32),
    BeforeLast(u32),
    NthWeekday(u32, u32),
    LastOfWeekday(u32),
}

#[derive(Debug, Clone)]
struct FieldSpec {
    min: u32,
    max: u32,
    items: Vec<Item>,
    /// Render numbers as names where the field has names.
    use_names: bool,
}

const MONTH_NAMES: [&str; 12] =
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAY_NAMES: [&str; 7] = ["sun", "Mon", "TUE", "wed", "Thu", "FRI", "sat"];

impl FieldSpec {
    fn value_text(&self, value: u32) -> String {
        if self.use_names && self.max == 12 {
            return MONTH_NAMES[(value - 1) as usize].to_owned();
        }
        if self.use_names && self.max == 7 && value < 7 {
            return WEEKDAY_NAMES[value as usize].to_owned();
        }
        value.to_string()
    }

    fn text(&self) -> String {
        let items: Vec<String> = self
            .items
            .iter()
            .map(|item| match *item {
                Item::Star(1) => "*".to_owned(),
                Item::Star(step) => format!("*/{step}"),
                Item::Question => "?".to_owned(),
                Item::Range(a, b, 1) if a == b => self.value_text(a),
                Item::Range(a, b, 1) => format!("{}-{}", self.value_text(a), self.value_text(b)),
                Item::Range(a, b, step) => {
                    format!("{}-{}/{step}", self.value_text(a), self.value_text(b))
                }
                Item::From(a, step) => format!("{}/{step}", self.value_text(a)),
                Item::LastDay => "L".to_owned(),
                Item::LastWeekday => "LW".to_owned(),
                Item::NearestWeekday(day) => format!("{day}W"),
                Item::BeforeLast(offset) => format!("L-{offset}"),
                Item::NthWeekday(weekday, nth) => format!("{}#{nth}", self.value_text(weekday)),
                Item::LastOfWeekday(weekday) => format!("{weekday}L"),
            })
            .collect();
        items.join(",")
    }

    fn starts_with_star(&self) -> bool {
        matches!(self.items.first(), Some(Item::Star(_) | Item::Question))
    }

    /// Whether a plain value matches (for day-of-week, 7 also stands for Sunday).
    // `is_multiple_of` needs Rust 1.87; the workspace's minimum is 1.85.
    #[allow(clippy::manual_is_multiple_of)]
    fn plain_matches(&self, value: u32) -> bool {
        let is_seven_sunday = self.max == 7 && value == 0;
        let hit = |v: u32| {
            self.items.iter().any(|item| match *item {
                Item::Star(step) => (v - self.min) % step == 0,
                Item::Question => true,
                Item::Range(a, b, step) => a <= v && v <= b && (v - a) % step == 0,
                Item::From(a, step) => a <= v && v <= self.max && (v - a) % step == 0,
                _ => false,
            })
        };
        hit(value) || (is_seven_sunday && hit(7))
    }
}

#[derive(Debug, Clone)]
struct Expression {
    seconds: Option<FieldSpec>,
    minute: FieldSpec,
    hour: FieldSpec,
    day_of_month: FieldSpec,
    month: FieldSpec,
    day_of_week: FieldSpec,
}

impl Expression {
    fn text(&self) -> String {
        let mut fields = Vec::new();
        if let Some(seconds) = &self.seconds {
            fields.push(seconds.text());
        }
        for field in [&self.minute, &self.hour, &self.day_of_month, &self.month, &self.day_of_week]
        {
            fields.push(field.text());
        }
        fields.join(" ")
    }

    fn is_fixed_time(&self) -> bool {
        !self.minute.starts_with_star() && !self.hour.starts_with_star()
    }

    fn unit(&self) -> i64 {
        if self.seconds.is_some() {
            1
        } else {
            60
        }
    }

    /// The reference matcher: checks each field of a wall time directly.
    fn matches(&self, wall: NaiveDateTime) -> bool {
        let second_ok = match &self.seconds {
            Some(field) => field.plain_matches(wall.second()),
            None => wall.second() == 0,
        };
        second_ok
            && self.minute.plain_matches(wall.minute())
            && self.hour.plain_matches(wall.hour())
            && self.month.plain_matches(wall.month())
            && self.day_matches(wall.date())
    }

    fn day_matches(&self, date: NaiveDate) -> bool {
        let last = last_day_of_month(date);
        let day = date.day();
        let weekday = date.weekday().num_days_from_sunday();
        let by_date = self.day_of_month.plain_matches(day)
            || self.day_of_month.items.iter().any(|item| match *item {
                Item::LastDay => day == last,
                Item::BeforeLast(offset) => offset < last && day == last - offset,
                Item::LastWeekday => {
                    let mut candidate = last;
                    while is_weekend(date.with_day(candidate).expect("valid day")) {
                        candidate -= 1;
                    }
                    day == candidate
                }
                Item::NearestWeekday(target) => {
                    target <= last
                        && day == nearest_weekday(date.with_day(target).expect("valid"), last)
                }
                _ => false,
            });
        let by_weekday = self.day_of_week.plain_matches(weekday)
            || self.day_of_week.items.iter().any(|item| match *item {
                Item::NthWeekday(target, nth) => weekday == target % 7 && (day - 1) / 7 + 1 == nth,
                Item::LastOfWeekday(target) => weekday == target % 7 && day + 7 > last,
                _ => false,
            });
        if self.day_of_month.starts_with_star() || self.day_of_week.starts_with_star() {
            by_date && by_weekday
        } else {
            by_date || by_weekday
        }
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn last_day_of_month(date: NaiveDate) -> u32 {
    (28..=31).rev().find(|&day| date.with_day(day).is_some()).unwrap_or(28)
}

/// Quartz's `nW` for a target date: Saturday goes back, Sunday goes forward, never leaving the
/// month.
fn nearest_weekday(target: NaiveDate, last: u32) -> u32 {
    let day = target.day();
    match target.weekday() {
        Weekday::Sat if day == 1 => 3,
        Weekday::Sat => day - 1,
        Weekday::Sun if day == last => day - 2,
        Weekday::Sun => day + 1,
        _ => day,
    }
}

fn plain_item(min: u32, max: u32) -> impl Strategy<Value = Item> {
    prop_oneof![
        3 => Just(Item::Star(1)),
        2 => (1..=max.min(30)).prop_map(Item::Star),
        3 => (min..=max).prop_map(move |value| Item::Range(value, value, 1)),
        2 => (min..=max, min..=max, 1..=4u32)
            .prop_map(|(a, b, step)| Item::Range(a.min(b), a.max(b), step)),
        1 => (min..=max, 1..=max.min(20)).prop_map(|(a, step)| Item::From(a, step)),
    ]
}

/// A field whose list starts with any item; later items are never `*` so the text's first
/// character decides the day rule the same way in the reference and in the library.
fn field(min: u32, max: u32, names: bool, star_weight: u32) -> impl Strategy<Value = FieldSpec> {
    let list = (plain_item(min, max), prop::collection::vec(plain_item(min, max), 0..3)).prop_map(
        |(first, rest)| {
            let mut items = vec![first];
            items.extend(rest.into_iter().filter(|item| !matches!(item, Item::Star(_))));
            items
        },
    );
    let items = prop_oneof![star_weight => Just(vec![Item::Star(1)]), 10 => list];
    (items, any::<bool>()).prop_map(move |(items, use_names)| FieldSpec {
        min,
        max,
        items,
        use_names: names && use_names,
    })
}

fn day_of_month(star_weight: u32) -> impl Strategy<Value = FieldSpec> {
    let special = prop_oneof![
        Just(Item::LastDay),
        Just(Item::LastWeekday),
        (1..=31u32).prop_map(Item::NearestWeekday),
        (0..=6u32).prop_map(Item::BeforeLast),
    ];
    prop_oneof![
        8 => field(1, 31, false, star_weight),
        1 => Just(FieldSpec { min: 1, max: 31, items: vec![Item::Question], use_names: false }),
        2 => (special, prop::collection::vec(plain_item(1, 31), 0..2)).prop_map(|(first, rest)| {
            let mut items = vec![first];
            items.extend(rest.into_iter().filter(|item| !matches!(item, Item::Star(_))));
            FieldSpec { min: 1, max: 31, items, use_names: false }
        }),
    ]
}

fn day_of_week(star_weight: u32) -> impl Strategy<Value = FieldSpec> {
    let special = prop_oneof![
        (0..=7u32, 1..=5u32).prop_map(|(weekday, nth)| Item::NthWeekday(weekday, nth)),
        (0..=7u32).prop_map(Item::LastOfWeekday),
    ];
    prop_oneof![
        8 => field(0, 7, true, star_weight),
        1 => Just(FieldSpec { min: 0, max: 7, items: vec![Item::Question], use_names: false }),
        2 => (special, any::<bool>()).prop_map(|(item, use_names)| FieldSpec {
            min: 0,
            max: 7,
            items: vec![item],
            use_names,
        }),
    ]
}

/// Expressions biased towards frequent matches, so that the reference usually finds the next
/// fire within its scan; six-field ones more often have `*` minutes and hours.
fn expression() -> impl Strategy<Value = Expression> {
    let five = (field(0, 59, false, 3), field(0, 23, false, 4))
        .prop_map(|(minute, hour)| (None, minute, hour));
    let six = (field(0, 59, false, 5), field(0, 59, false, 20), field(0, 23, false, 20))
        .prop_map(|(seconds, minute, hour)| (Some(seconds), minute, hour));
    let time = prop_oneof![4 => five, 1 => six];
    (time, day_of_month(60), field(1, 12, true, 60), day_of_week(60)).prop_map(
        |((seconds, minute, hour), day_of_month, month, day_of_week)| Expression {
            seconds,
            minute,
            hour,
            day_of_month,
            month,
            day_of_week,
        },
    )
}

/// Expressions at one time of day with restrictive day and month fields: rare matches, to
/// exercise the matcher's month and year skipping.
fn sparse_expression() -> impl Strategy<Value = Expression> {
    let single = |min: u32, max: u32| {
        (min..=max).prop_map(move |value| FieldSpec {
            min,
            max,
            items: vec![Item::Range(value, value, 1)],
            use_names: false,
        })
    };
    (single(0, 59), single(0, 23), day_of_month(2), field(1, 12, true, 2), day_of_week(3)).prop_map(
        |(minute, hour, day_of_month, month, day_of_week)| Expression {
            seconds: None,
            minute,
            hour,
            day_of_month,
            month,
            day_of_week,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// Zones and instants.

fn offset_at(tz: Tz, instant: i64) -> i64 {
    let utc = DateTime::from_timestamp(instant, 0).expect("in range");
    i64::from(tz.offset_from_utc_datetime(&utc.naive_utc()).fix().local_minus_utc())
}

/// Offset changes of `tz` in 2024-2028, found by an hourly probe and bisection.
fn transitions(tz: Tz) -> Vec<i64> {
    let start = Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap().timestamp();
    let end = Utc.with_ymd_and_hms(2029, 1, 1, 0, 0, 0).unwrap().timestamp();
    let mut found = Vec::new();
    let mut previous = start;
    let mut previous_offset = offset_at(tz, start);
    let mut probe = start + 3600;
    while probe <= end {
        let offset = offset_at(tz, probe);
        if offset != previous_offset {
            let (mut low, mut high) = (previous, probe);
            while high - low > 1 {
                let middle = low + (high - low) / 2;
                if offset_at(tz, middle) == previous_offset {
                    low = middle;
                } else {
                    high = middle;
                }
            }
            found.push(high);
            previous_offset = offset;
        }
        previous = probe;
        probe += 3600;
    }
    found
}

fn zone_transitions() -> &'static Vec<(Tz, Vec<i64>)> {
    static CACHE: OnceLock<Vec<(Tz, Vec<i64>)>> = OnceLock::new();
    CACHE.get_or_init(|| {
        ZONES
            .iter()
            .map(|name| {
                let tz: Tz = name.parse().expect("known zone");
                (tz, transitions(tz))
            })
            .collect()
    })
}

fn transitions_of(tz: Tz) -> &'static [i64] {
    zone_transitions()
        .iter()
        .find(|(zone, _)| *zone == tz)
        .map(|(_, found)| found.as_slice())
        .unwrap_or(&[])
}

/// An instant near a real transition of the zone (or anywhere in 2024-2028 for zones without).
fn instant_near(zone: usize, transition: Index, shift: i64) -> i64 {
    let (_, transitions) = &zone_transitions()[zone];
    if transitions.is_empty() {
        return Utc.with_ymd_and_hms(2026, 6, 15, 0, 0, 0).unwrap().timestamp() + shift * 97;
    }
    transitions[transition.index(transitions.len())] + shift
}

// ---------------------------------------------------------------------------------------------
// The reference.

fn wall_of(tz: Tz, instant: i64, unit: i64) -> NaiveDateTime {
    let local =
        DateTime::from_timestamp(instant, 0).expect("in range").with_timezone(&tz).naive_local();
    let seconds = local.and_utc().timestamp();
    DateTime::from_timestamp(seconds.div_euclid(unit) * unit, 0).expect("in range").naive_utc()
}

fn seconds_of(wall: NaiveDateTime) -> i64 {
    wall.and_utc().timestamp()
}

/// The first fire instant after `after`, scanning at most `limit` units; `None` if none.
fn reference_next(expression: &Expression, tz: Tz, after: i64, limit: i64) -> Option<i64> {
    let unit = expression.unit();
    let fixed = expression.is_fixed_time();
    let mut tick = after.div_euclid(unit) * unit;
    // V is the running maximum of the wall time. Inside a segment the wall time grows, so the
    // maximum up to `tick` is the wall time at `tick` or at the last instant before one of the
    // recent transitions (they are months apart, a few hours look back far enough).
    let recent =
        transitions_of(tz).iter().filter(|&&change| tick - 6 * 3600 < change && change <= tick);
    let mut virtual_time = recent
        .map(|&change| seconds_of(wall_of(tz, change - 1, unit)))
        .fold(seconds_of(wall_of(tz, tick, unit)), i64::max);
    let last_tick = tick + limit * unit;
    while tick < last_tick {
        tick += unit;
        let wall = seconds_of(wall_of(tz, tick, unit));
        let fires = if fixed {
            let mut candidate = virtual_time + unit;
            let mut any = false;
            while candidate <= wall && !any {
                any = expression
                    .matches(DateTime::from_timestamp(candidate, 0).expect("in range").naive_utc());
                candidate += unit;
            }
            any
        } else {
            expression.matches(DateTime::from_timestamp(wall, 0).expect("in range").naive_utc())
        };
        virtual_time = virtual_time.max(wall);
        if tick > after && fires {
            return Some(tick);
        }
    }
    None
}

fn utc(instant: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(instant, 0).expect("in range")
}

// ---------------------------------------------------------------------------------------------
// Properties.

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn next_after_agrees_with_the_reference(
        expression in expression(),
        zone in 0..ZONES.len(),
        transition in any::<Index>(),
        shift in -4 * 3600i64..4 * 3600,
    ) {
        let text = expression.text();
        let (tz, _) = zone_transitions()[zone];
        // Generated day specs that can never fire (`30W` in February only) are rejected; that
        // is tested elsewhere.
        let Ok(schedule) = Schedule::parse_in(&text, tz) else { return Ok(()) };
        let after = instant_near(zone, transition, shift);
        // Eight days of minutes, or three hours of seconds.
        let limit = if expression.seconds.is_some() { 3 * 3_600 } else { 8 * 1_440 };
        let expected = reference_next(&expression, tz, after, limit);
        let actual = schedule.next_after(utc(after)).map(|at| at.timestamp());
        match expected {
            Some(expected) => prop_assert_eq!(actual, Some(expected), "`{}` in {} after {}", text, ZONES[zone], utc(after)),
            None => {
                let horizon = after + limit * expression.unit();
                prop_assert!(actual.is_none_or(|actual| actual > horizon), "`{}` in {} after {}: {:?} not found by the reference", text, ZONES[zone], utc(after), actual.map(utc));
            }
        }
        if let Some(next) = actual {
            let previous = schedule.prev_before(utc(next)).map(|at| at.timestamp());
            prop_assert!(previous.is_some_and(|previous| previous <= after), "`{}` in {}: prev_before({}) = {:?} > {}", text, ZONES[zone], utc(next), previous.map(utc), utc(after));
        }
    }

    #[test]
    fn sparse_expressions_agree_with_a_day_by_day_reference(
        expression in sparse_expression(),
        start_day in 0i64..146_097,
        second_of_day in 0i64..86_400,
    ) {
        let text = expression.text();
        let Ok(schedule) = Schedule::parse(&text, "UTC") else { return Ok(()) };
        // Any day of a 400-year cycle starting in 1900.
        let start = Utc.with_ymd_and_hms(1900, 1, 1, 0, 0, 0).unwrap().timestamp();
        let after = start + start_day * 86_400 + second_of_day;
        let (hour, minute) = match (&expression.hour.items[0], &expression.minute.items[0]) {
            (Item::Range(hour, _, _), Item::Range(minute, _, _)) => (i64::from(*hour), i64::from(*minute)),
            _ => unreachable!("sparse expressions have one hour and one minute"),
        };
        let fire_on = |day: i64| day * 86_400 + hour * 3_600 + minute * 60;
        let matches = |instant: i64| expression.matches(utc(instant).naive_utc());
        let today = after.div_euclid(86_400);
        const HORIZON_DAYS: i64 = 3 * 366;
        let expected_next = (today..today + HORIZON_DAYS).map(fire_on).find(|&at| at > after && matches(at));
        let actual_next = schedule.next_after(utc(after)).map(|at| at.timestamp());
        match expected_next {
            Some(expected) => prop_assert_eq!(actual_next, Some(expected), "next of `{}` after {}", text, utc(after)),
            None => prop_assert!(actual_next.is_none_or(|at| at >= fire_on(today + HORIZON_DAYS)), "`{}`", text),
        }
        let expected_previous = (today - HORIZON_DAYS..=today).rev().map(fire_on).find(|&at| at < after && matches(at));
        let actual_previous = schedule.prev_before(utc(after)).map(|at| at.timestamp());
        match expected_previous {
            Some(expected) => prop_assert_eq!(actual_previous, Some(expected), "previous of `{}` before {}", text, utc(after)),
            None => prop_assert!(actual_previous.is_none_or(|at| at <= fire_on(today - HORIZON_DAYS)), "`{}`", text),
        }
    }

    #[test]
    fn occurrences_strictly_increase_and_chain(
        expression in expression(),
        zone in 0..ZONES.len(),
        transition in any::<Index>(),
        shift in -4 * 3600i64..4 * 3600,
    ) {
        let (tz, _) = zone_transitions()[zone];
        let Ok(schedule) = Schedule::parse_in(&expression.text(), tz) else { return Ok(()) };
        let after = utc(instant_near(zone, transition, shift));
        let mut previous = after;
        for (index, occurrence) in schedule.occurrences_after(after).take(12).enumerate() {
            prop_assert!(occurrence.at > previous);
            prop_assert_eq!(schedule.next_after(previous), Some(occurrence.at));
            if index > 0 {
                prop_assert_eq!(schedule.prev_before(occurrence.at), Some(previous));
            }
            previous = occurrence.at;
        }
    }

    #[test]
    fn parse_never_panics_on_arbitrary_text(text in any::<String>(), zone in select(&ZONES[..])) {
        exercise(&text, zone);
    }

    #[test]
    fn parse_never_panics_on_cron_like_text(
        tokens in prop::collection::vec(
            prop_oneof![
                Just("*".to_owned()),
                Just("?".to_owned()),
                Just("L".to_owned()),
                Just("W".to_owned()),
                Just("#".to_owned()),
                Just("-".to_owned()),
                Just("/".to_owned()),
                Just(",".to_owned()),
                Just(" ".to_owned()),
                Just("\t".to_owned()),
                Just("@".to_owned()),
                Just("@every".to_owned()),
                Just("@daily".to_owned()),
                Just("MON".to_owned()),
                Just("feb".to_owned()),
                Just("\u{663}".to_owned()),
                Just("\u{a0}".to_owned()),
                "[0-9]{1,3}",
                "[0-9]{15,25}",
                "[a-zA-Z]{1,4}",
                "[dhms]",
            ],
            0..24,
        ),
        zone in select(&ZONES[..]),
        instant in -5_000_000_000i64..10_000_000_000,
    ) {
        let text = tokens.concat();
        exercise(&text, zone);
        if let Ok(schedule) = Schedule::parse(&text, zone) {
            let at = utc(instant);
            let next = schedule.next_after(at);
            let previous = schedule.prev_before(at);
            prop_assert!(next.is_none_or(|next| next > at));
            prop_assert!(previous.is_none_or(|previous| previous < at));
        }
    }
}

/// Parses and, when accepted, uses every method once: none may panic.
fn exercise(text: &str, zone: &str) {
    match Schedule::parse(text, zone) {
        Ok(schedule) => {
            let at = Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap();
            let _ = schedule.next_after(at);
            let _ = schedule.prev_before(at);
            let _ = schedule.occurrences_after(at).take(3).count();
            let _ = schedule.describe();
            let _ = schedule.min_period();
            let _ = schedule.dst_effects(at, at + chrono::Duration::days(366));
        }
        Err(error) => {
            // The span must point into the text it describes.
            let source = if error.field() == rota::cron::Field::TimeZone { zone } else { text };
            assert!(source.get(error.span()).is_some(), "bad span {:?} for {text:?}", error.span());
            let _ = error.to_string();
        }
    }
}
