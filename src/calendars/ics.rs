//! iCalendar (RFC 5545) text to a [`Calendar`].
//!
//! icalendar's parser reads the content lines and components; it works on unfolded text, so
//! the unfolding is done here, keeping for each unfolded line the line of the file it started
//! on. Every error then names the file's line and the property.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Tz;
use icalendar::parser::{Component, Property};

use super::events::{Calendar, Event, EventTime};

/// Why a calendar file was refused: where, which property, the value, and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{property}: {problem}", line.map(|line| format!("line {line}, ")).unwrap_or_default())]
pub struct CalendarError {
    /// The line of the file (1-based), when known.
    pub line: Option<usize>,
    /// The property (`DTSTART`, `RRULE`, ...) or the structure (`BEGIN:VEVENT`, `file`).
    pub property: String,
    /// What is wrong, with the value and what is allowed.
    pub problem: String,
}

impl CalendarError {
    fn new(line: Option<usize>, property: &str, problem: impl Into<String>) -> Self {
        CalendarError { line, property: property.to_owned(), problem: problem.into() }
    }
}

/// Unfolded text and, per unfolded line, its byte offset and the file line it started on.
struct Unfolded {
    text: String,
    lines: Vec<(usize, usize)>,
}

impl Unfolded {
    fn new(source: &str) -> Unfolded {
        let mut text = String::with_capacity(source.len());
        let mut lines = Vec::new();
        for (number, raw) in source.split('\n').enumerate() {
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            if let Some(continuation) = raw.strip_prefix([' ', '\t']) {
                if !lines.is_empty() {
                    // The line break and the one whitespace character are removed (RFC 5545 3.1).
                    text.pop();
                    text.push_str(continuation);
                    text.push('\n');
                    continue;
                }
            }
            if raw.trim().is_empty() {
                continue;
            }
            lines.push((text.len(), number + 1));
            text.push_str(raw);
            text.push('\n');
        }
        Unfolded { text, lines }
    }

    /// The file line of a byte offset into the unfolded text.
    fn line_at(&self, offset: usize) -> Option<usize> {
        let index = self.lines.partition_point(|(start, _)| *start <= offset);
        index.checked_sub(1).map(|index| self.lines[index].1)
    }

    /// The file line of a slice borrowed from the unfolded text (the parser borrows names).
    fn line_of(&self, slice: &str) -> Option<usize> {
        let base = self.text.as_ptr() as usize;
        let at = slice.as_ptr() as usize;
        (base..=base + self.text.len()).contains(&at).then(|| self.line_at(at - base)).flatten()
    }
}

/// Reads an iCalendar file. Every `VEVENT` (at any depth, usually inside `VCALENDAR`) becomes an
/// event; cancelled ones (`STATUS:CANCELLED`) are left out, and an event with a
/// `RECURRENCE-ID` replaces that instance of the event with the same `UID`.
pub fn parse_ics(source: &str) -> Result<Calendar, CalendarError> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let unfolded = Unfolded::new(source);
    if !unfolded.text.trim_start().to_ascii_uppercase().starts_with("BEGIN:VCALENDAR") {
        return Err(CalendarError::new(
            unfolded.lines.first().map(|(_, line)| *line),
            "BEGIN:VCALENDAR",
            "the file does not start with BEGIN:VCALENDAR; allowed: an iCalendar (RFC 5545) file",
        ));
    }
    check_balanced(&unfolded)?;
    let components = icalendar::parser::read_calendar_simple(&unfolded.text).map_err(|error| {
        let offset = unfolded.text.len().saturating_sub(error.input.len());
        let line_text = error.input.lines().next().unwrap_or_default();
        CalendarError::new(
            unfolded.line_at(offset),
            property_name(line_text),
            format!(
                "\"{}\" is not an iCalendar content line; allowed NAME[;PARAM=VALUE]:VALUE",
                shorten(line_text)
            ),
        )
    })?;
    let mut found = Vec::new();
    collect_events(&components, &mut found);
    let mut events = Vec::new();
    let mut overrides = Vec::new();
    for component in found {
        if let Some(parsed) = read_event(component, &unfolded)? {
            match parsed.recurrence_id {
                Some(id) => overrides.push((parsed.uid, id, parsed.event)),
                None => events.push((parsed.uid, parsed.event)),
            }
        }
    }
    // An override moves (or cancels, when it was cancelled and so dropped above) one instance:
    // the instance leaves its series, and the override is an event of its own.
    for (uid, id, event) in overrides {
        if let Some((_, series)) =
            events.iter_mut().find(|(series_uid, _)| uid.is_some() && *series_uid == uid)
        {
            series.exdates.push(id);
        }
        events.push((uid, event));
    }
    Ok(Calendar::new(events.into_iter().map(|(_, event)| event).collect()))
}

/// A calendar of whole days: `dates` and inclusive `ranges`, as an iCalendar file (how
/// `rota calendar add --date/--range` stores them, so every calendar is kept one way).
pub fn dates_calendar(dates: &[NaiveDate], ranges: &[(NaiveDate, NaiveDate)]) -> String {
    let mut text =
        String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Rota//calendars//EN\r\n");
    let mut add = |from: NaiveDate, to: NaiveDate| {
        let end = to.succ_opt().unwrap_or(to);
        let summary = if from == to {
            from.format("%Y-%m-%d").to_string()
        } else {
            format!("{} to {}", from.format("%Y-%m-%d"), to.format("%Y-%m-%d"))
        };
        text.push_str(&format!(
            "BEGIN:VEVENT\r\nUID:{}-{}@rota\r\nDTSTART;VALUE=DATE:{}\r\nDTEND;VALUE=DATE:{}\r\nSUMMARY:{summary}\r\nEND:VEVENT\r\n",
            from.format("%Y%m%d"),
            to.format("%Y%m%d"),
            from.format("%Y%m%d"),
            end.format("%Y%m%d"),
        ));
    };
    for date in dates {
        add(*date, *date);
    }
    for (from, to) in ranges {
        add(*from, *to);
    }
    text.push_str("END:VCALENDAR\r\n");
    text
}

fn property_name(line: &str) -> &str {
    let end = line.find([':', ';']).unwrap_or(line.len());
    let name = line[..end].trim();
    if name.is_empty() || name.len() > 40 {
        "content line"
    } else {
        name
    }
}

fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(60).collect();
    if short.len() < text.len() {
        short.push_str("...");
    }
    short
}

/// BEGIN and END must pair up; icalendar's parser reports a missing END as a failure at the
/// BEGIN far above it, so the line that is really wrong is found here first.
fn check_balanced(unfolded: &Unfolded) -> Result<(), CalendarError> {
    let mut open: Vec<(String, usize)> = Vec::new();
    for (start, line) in &unfolded.lines {
        let text = unfolded.text[*start..].lines().next().unwrap_or_default();
        let upper = text.to_ascii_uppercase();
        if let Some(name) = upper.strip_prefix("BEGIN:") {
            open.push((name.trim().to_owned(), *line));
        } else if let Some(name) = upper.strip_prefix("END:") {
            let name = name.trim();
            match open.pop() {
                Some((begun, _)) if begun == name => {}
                Some((begun, begun_line)) => {
                    return Err(CalendarError::new(
                        Some(*line),
                        "END",
                        format!(
                            "\"END:{name}\" closes BEGIN:{begun} of line {begun_line}; allowed \
                             END:{begun}"
                        ),
                    ))
                }
                None => {
                    return Err(CalendarError::new(
                        Some(*line),
                        "END",
                        format!("\"END:{name}\" has no BEGIN; allowed after BEGIN:{name}"),
                    ))
                }
            }
        }
    }
    match open.pop() {
        Some((name, line)) => Err(CalendarError::new(
            Some(line),
            "BEGIN",
            format!("BEGIN:{name} is never closed; allowed: END:{name} before the file ends"),
        )),
        None => Ok(()),
    }
}

fn collect_events<'c, 'a>(components: &'c [Component<'a>], found: &mut Vec<&'c Component<'a>>) {
    for component in components {
        if component.name.as_str().eq_ignore_ascii_case("VEVENT") {
            found.push(component);
        } else if !component.name.as_str().eq_ignore_ascii_case("VTIMEZONE") {
            collect_events(&component.components, found);
        }
    }
}

struct ParsedEvent {
    uid: Option<String>,
    recurrence_id: Option<EventTime>,
    event: Event,
}

/// One property with where it was.
struct At<'p, 'a> {
    property: &'p Property<'a>,
    line: Option<usize>,
    name: String,
}

impl At<'_, '_> {
    fn error(&self, problem: impl Into<String>) -> CalendarError {
        CalendarError::new(self.line, &self.name, problem)
    }

    fn value(&self) -> &str {
        self.property.val.as_str()
    }

    fn param(&self, key: &str) -> Option<&str> {
        self.property
            .params
            .iter()
            .find(|param| param.key.as_str().eq_ignore_ascii_case(key))
            .and_then(|param| param.val.as_ref())
            .map(|value| value.as_str().trim_matches('"'))
    }
}

fn read_event(
    component: &Component<'_>,
    unfolded: &Unfolded,
) -> Result<Option<ParsedEvent>, CalendarError> {
    let properties: Vec<At<'_, '_>> = component
        .properties
        .iter()
        .map(|property| At {
            property,
            line: unfolded.line_of(property.name.as_str()),
            name: property.name.as_str().to_ascii_uppercase(),
        })
        .collect();
    let begin_line = properties.first().and_then(|at| at.line).map(|line| line.saturating_sub(1));
    let find = |name: &str| properties.iter().find(|at| at.name == name);
    if find("STATUS").is_some_and(|at| at.value().trim().eq_ignore_ascii_case("CANCELLED")) {
        return Ok(None);
    }
    let Some(dtstart) = find("DTSTART") else {
        return Err(CalendarError::new(
            begin_line,
            "DTSTART",
            "the event has no DTSTART; allowed: every VEVENT names its start",
        ));
    };
    let start = read_time(dtstart)?;
    let duration = match (find("DTEND"), find("DURATION")) {
        (Some(dtend), _) => {
            let end = read_time(dtend)?;
            let length = span(start, end).ok_or_else(|| {
                dtend.error(format!(
                    "\"{}\" is not the same kind of time as DTSTART; allowed: a date when \
                     DTSTART is a date, a date-time when it is a date-time",
                    dtend.value()
                ))
            })?;
            if length < Duration::zero() {
                return Err(dtend.error(format!(
                    "\"{}\" is before DTSTART; allowed: DTEND at or after DTSTART (DTEND is \
                     exclusive)",
                    dtend.value()
                )));
            }
            length
        }
        (None, Some(at)) => read_duration(at)?,
        // RFC 5545 3.6.1: a date start lasts one day, a date-time start no time.
        (None, None) if matches!(start, EventTime::Date(_)) => Duration::days(1),
        (None, None) => Duration::zero(),
    };
    if matches!(start, EventTime::Date(_)) && duration.num_seconds() % 86_400 != 0 {
        let at = find("DURATION").or(find("DTEND")).unwrap_or(dtstart);
        return Err(at.error(format!(
            "\"{}\" is not whole days; allowed: whole days for an all-day event",
            at.value()
        )));
    }
    let rule = match find("RRULE") {
        Some(at) => Some(read_rule(at, start)?),
        None => None,
    };
    let mut rdates = Vec::new();
    let mut exdates = Vec::new();
    for at in &properties {
        match at.name.as_str() {
            "RDATE" => {
                if at.param("VALUE").is_some_and(|value| value.eq_ignore_ascii_case("PERIOD")) {
                    return Err(at.error(format!(
                        "\"{}\" is a period; allowed: dates or date-times (VALUE=DATE or \
                         DATE-TIME)",
                        at.value()
                    )));
                }
                rdates.extend(read_times(at)?);
            }
            "EXDATE" => exdates.extend(read_times(at)?),
            _ => {}
        }
    }
    let summary = find("SUMMARY")
        .map(|at| unescape(at.value()))
        .filter(|summary| !summary.trim().is_empty())
        .unwrap_or_else(|| match start {
            EventTime::Date(date) => date.format("%Y-%m-%d").to_string(),
            EventTime::Floating(wall) => wall.format("%Y-%m-%d %H:%M").to_string(),
            EventTime::Zoned(at) => at.format("%Y-%m-%d %H:%M %Z").to_string(),
        });
    let recurrence_id = match find("RECURRENCE-ID") {
        Some(at) => Some(read_time(at)?),
        None => None,
    };
    Ok(Some(ParsedEvent {
        uid: find("UID").map(|at| at.value().trim().to_owned()),
        recurrence_id,
        event: Event {
            summary,
            start,
            duration,
            rule,
            rdates,
            exdates,
            line: begin_line.unwrap_or(0),
        },
    }))
}

/// TEXT values: `\n`, `\,`, `\;`, `\\` (RFC 5545 3.3.11).
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(character) = chars.next() {
        if character != '\\' {
            out.push(character);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push(' '),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

fn span(start: EventTime, end: EventTime) -> Option<Duration> {
    match (start, end) {
        (EventTime::Date(start), EventTime::Date(end)) => Some(end - start),
        (EventTime::Floating(start), EventTime::Floating(end)) => Some(end - start),
        (EventTime::Zoned(start), EventTime::Zoned(end)) => Some(end - start),
        // A floating end with a zoned start (or the reverse) is read in the start's zone.
        (EventTime::Zoned(start), EventTime::Floating(end)) => Some(end - start.naive_local()),
        (EventTime::Floating(start), EventTime::Zoned(end)) => Some(end.naive_local() - start),
        _ => None,
    }
}

const TIME_FORMS: &str = "YYYYMMDD (with VALUE=DATE), YYYYMMDDTHHMMSS, YYYYMMDDTHHMMSSZ";

fn read_times(at: &At<'_, '_>) -> Result<Vec<EventTime>, CalendarError> {
    at.value()
        .split(',')
        .filter(|value| !value.trim().is_empty())
        .map(|value| read_time_value(at, value.trim()))
        .collect()
}

fn read_time(at: &At<'_, '_>) -> Result<EventTime, CalendarError> {
    read_time_value(at, at.value().trim())
}

fn read_time_value(at: &At<'_, '_>, value: &str) -> Result<EventTime, CalendarError> {
    let bad = || at.error(format!("\"{value}\" is not a date or date-time; allowed {TIME_FORMS}"));
    let is_date = at.param("VALUE").is_some_and(|kind| kind.eq_ignore_ascii_case("DATE"))
        || (value.len() == 8 && !value.contains('T'));
    if is_date {
        return NaiveDate::parse_from_str(value, "%Y%m%d").map(EventTime::Date).map_err(|_| bad());
    }
    let (wall, utc) = match value.strip_suffix(['Z', 'z']) {
        Some(wall) => (wall, true),
        None => (value, false),
    };
    let wall = NaiveDateTime::parse_from_str(wall, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
    if utc {
        return Ok(EventTime::Zoned(Tz::UTC.from_utc_datetime(&wall)));
    }
    let Some(tzid) = at.param("TZID") else {
        return Ok(EventTime::Floating(wall));
    };
    let zone = zone_of(tzid).ok_or_else(|| {
        at.error(format!(
            "TZID \"{tzid}\" is not a time zone of the IANA database; allowed IANA names such as \
             Europe/Berlin or America/New_York"
        ))
    })?;
    let local = zone.from_local_datetime(&wall);
    match local.earliest() {
        Some(at) => Ok(EventTime::Zoned(at)),
        // RFC 5545 3.3.5: a time in a gap means the time after the gap by the gap's length.
        None => Ok(EventTime::Zoned(
            zone.from_local_datetime(&(wall + Duration::hours(1))).earliest().ok_or_else(bad)?,
        )),
    }
}

/// An IANA zone from a TZID, also when a producer prefixed it (`/mozilla.org/.../Europe/Berlin`).
fn zone_of(tzid: &str) -> Option<Tz> {
    if let Ok(zone) = tzid.parse::<Tz>() {
        return Some(zone);
    }
    let parts: Vec<&str> = tzid.split('/').filter(|part| !part.is_empty()).collect();
    (1..parts.len()).find_map(|skip| parts[skip..].join("/").parse::<Tz>().ok())
}

fn read_duration(at: &At<'_, '_>) -> Result<Duration, CalendarError> {
    let value = at.value().trim();
    let bad = || {
        at.error(format!(
            "\"{value}\" is not a duration; allowed for example P1D, P2W, PT2H30M (not negative)"
        ))
    };
    let body = value.strip_prefix('+').unwrap_or(value);
    let body = body.strip_prefix(['P', 'p']).ok_or_else(bad)?;
    let mut total = Duration::zero();
    let mut number = String::new();
    let mut in_time = false;
    let mut any = false;
    for character in body.chars() {
        match character.to_ascii_uppercase() {
            'T' if !in_time && number.is_empty() => in_time = true,
            digit @ '0'..='9' => number.push(digit),
            unit => {
                let amount: i64 = number.parse().map_err(|_| bad())?;
                number.clear();
                any = true;
                total += match (unit, in_time) {
                    ('W', false) => Duration::weeks(amount),
                    ('D', false) => Duration::days(amount),
                    ('H', true) => Duration::hours(amount),
                    ('M', true) => Duration::minutes(amount),
                    ('S', true) => Duration::seconds(amount),
                    _ => return Err(bad()),
                };
            }
        }
    }
    if !any || !number.is_empty() {
        return Err(bad());
    }
    Ok(total)
}

fn read_rule(at: &At<'_, '_>, start: EventTime) -> Result<rrule::RRule, CalendarError> {
    let value = at.value().trim();
    // UNTIL is read here: rrule's own reading wants the zone forms of a DTSTART it parsed
    // itself, and RFC 5545 lets UNTIL be a date when DTSTART is one.
    let mut until = None;
    let mut parts = Vec::new();
    for part in value.split(';').filter(|part| !part.is_empty()) {
        match part.split_once('=') {
            Some((key, text)) if key.eq_ignore_ascii_case("UNTIL") => until = Some(text.trim()),
            Some((key, text)) if key.eq_ignore_ascii_case("FREQ") => {
                let frequency = text.trim().to_ascii_uppercase();
                if matches!(frequency.as_str(), "MINUTELY" | "SECONDLY") {
                    return Err(at.error(format!(
                        "FREQ=\"{text}\" repeats more often than hourly; allowed YEARLY, \
                         MONTHLY, WEEKLY, DAILY, HOURLY"
                    )));
                }
                parts.push(part);
            }
            _ => parts.push(part),
        }
    }
    let rule: rrule::RRule<rrule::Unvalidated> = parts
        .join(";")
        .parse()
        .map_err(|error: rrule::RRuleError| at.error(format!("\"{value}\": {error}")))?;
    let dt_start = match start {
        EventTime::Date(date) => rrule::Tz::UTC.from_utc_datetime(&date.and_time(NaiveTime::MIN)),
        EventTime::Floating(wall) => rrule::Tz::UTC.from_utc_datetime(&wall),
        EventTime::Zoned(at) => at.with_timezone(&rrule::Tz::Tz(at.timezone())),
    };
    let rule = match until {
        None => rule,
        Some(text) => {
            let bad = || {
                at.error(format!(
                    "UNTIL=\"{text}\" is not a date or date-time; allowed {TIME_FORMS}"
                ))
            };
            let until: DateTime<rrule::Tz> = if text.len() == 8 {
                // A date UNTIL includes that whole day.
                let date = NaiveDate::parse_from_str(text, "%Y%m%d").map_err(|_| bad())?;
                let last = date.and_time(NaiveTime::MIN) + Duration::days(1) - Duration::seconds(1);
                match start {
                    EventTime::Zoned(start) => start
                        .timezone()
                        .from_local_datetime(&last)
                        .latest()
                        .ok_or_else(bad)?
                        .with_timezone(&rrule::Tz::UTC),
                    _ => rrule::Tz::UTC.from_utc_datetime(&last),
                }
            } else {
                let (wall, utc) = match text.strip_suffix(['Z', 'z']) {
                    Some(wall) => (wall, true),
                    None => (text, false),
                };
                let wall =
                    NaiveDateTime::parse_from_str(wall, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
                match start {
                    EventTime::Zoned(start) if !utc => start
                        .timezone()
                        .from_local_datetime(&wall)
                        .earliest()
                        .ok_or_else(bad)?
                        .with_timezone(&rrule::Tz::UTC),
                    _ => rrule::Tz::UTC.from_utc_datetime(&wall),
                }
            };
            rule.until(until)
        }
    };
    rule.validate(dt_start).map_err(|error| at.error(format!("\"{value}\": {error}")))
}
