//! Parsing cron expressions into a [`Matcher`] plus the item lists [`super::describe`] needs.
//!
//! The grammar is in the module documentation of [`super`]. The parser never panics: every
//! index it uses comes from `char_indices` or from ASCII-only text it has checked, and numbers
//! are accumulated with saturation.

use std::ops::Range;

use super::error::{CronError, CronErrorKind, Field};
use super::matcher::{DayCombination, DaySpec, Matcher};
use super::JobKind;

const MONTH_NAMES: [&str; 12] =
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const WEEKDAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The longest `@every` interval accepted: 100 years of 365 days.
const MAX_INTERVAL_SECONDS: i64 = 100 * 365 * 86_400;

/// One element of a field's list, as written (after names became numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    /// `*`, `*/S` or `?` (step 1).
    Every { step: u32 },
    /// `N` (start = end), `A-B`, `A-B/S` or `N/S` (end = the field's maximum).
    Range { start: u32, end: u32, step: u32 },
    /// Day of month `L`.
    LastDay,
    /// Day of month `LW`.
    LastWeekday,
    /// Day of month `nW`.
    NearestWeekday(u32),
    /// Day of month `L-n`.
    BeforeLast(u32),
    /// Day of week `w#k` (w normalised to 0-6).
    NthWeekday { weekday: u32, nth: u32 },
    /// Day of week `wL` (w normalised to 0-6).
    LastOfWeekday(u32),
}

/// A parsed field: its text, its items and the plain values they select.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedField {
    pub(crate) text: String,
    pub(crate) items: Vec<Item>,
    /// Bit v for every plain value selected (day of week normalised to 0-6).
    pub(crate) bits: u64,
}

impl ParsedField {
    fn fixed(text: &str, value: u32) -> ParsedField {
        ParsedField {
            text: text.to_owned(),
            items: vec![Item::Range { start: value, end: value, step: 1 }],
            bits: 1 << value,
        }
    }

    /// Whether the text starts with `*` (or Quartz's `?`), which matters for the day rule and
    /// for classifying jobs.
    pub(crate) fn starts_with_star(&self) -> bool {
        self.text.starts_with('*') || self.text.starts_with('?')
    }
}

/// A parsed cron expression (not a macro for an interval).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CronFields {
    pub(crate) second: ParsedField,
    pub(crate) minute: ParsedField,
    pub(crate) hour: ParsedField,
    pub(crate) day_of_month: ParsedField,
    pub(crate) month: ParsedField,
    pub(crate) day_of_week: ParsedField,
    /// Whether the expression had six fields (seconds written explicitly).
    pub(crate) has_seconds: bool,
    pub(crate) kind: JobKind,
    pub(crate) matcher: Matcher,
}

/// What an expression parses to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Parsed {
    Cron(Box<CronFields>),
    /// `@every <duration>`, in seconds.
    Interval(i64),
}

/// Static description of a field's range and vocabulary.
struct FieldRules {
    field: Field,
    min: u32,
    max: u32,
    names: &'static [&'static str],
    /// The value of the first name (1 for months, 0 for weekdays).
    first_name_value: u32,
    allowed: &'static str,
}

const SECOND: FieldRules = FieldRules {
    field: Field::Second,
    min: 0,
    max: 59,
    names: &[],
    first_name_value: 0,
    allowed: "0-59",
};
const MINUTE: FieldRules = FieldRules {
    field: Field::Minute,
    min: 0,
    max: 59,
    names: &[],
    first_name_value: 0,
    allowed: "0-59",
};
const HOUR: FieldRules = FieldRules {
    field: Field::Hour,
    min: 0,
    max: 23,
    names: &[],
    first_name_value: 0,
    allowed: "0-23",
};
const DAY_OF_MONTH: FieldRules = FieldRules {
    field: Field::DayOfMonth,
    min: 1,
    max: 31,
    names: &[],
    first_name_value: 0,
    allowed: "1-31, L, LW, nW, L-n or ?",
};
const MONTH: FieldRules = FieldRules {
    field: Field::Month,
    min: 1,
    max: 12,
    names: &MONTH_NAMES,
    first_name_value: 1,
    allowed: "1-12 or JAN-DEC",
};
const DAY_OF_WEEK: FieldRules = FieldRules {
    field: Field::DayOfWeek,
    min: 0,
    max: 7,
    names: &WEEKDAY_NAMES,
    first_name_value: 0,
    allowed: "0-7 or SUN-SAT (0 and 7 are Sunday), nL, n#k or ?",
};

const MACRO_ALLOWED: &str =
    "@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every <duration>";
const FIELDS_ALLOWED: &str =
    "five fields (minute hour day-of-month month day-of-week), six with seconds first, or a macro";
const INTERVAL_ALLOWED: &str =
    "a positive duration made of whole numbers with units d, h, m and s, such as 15m or 1h30m \
     (at most 100 years)";

fn is_separator(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Splits `text` into (token, byte range) on runs of `separator`.
fn tokens(text: &str, base: usize, is_sep: fn(char) -> bool) -> Vec<(&str, Range<usize>)> {
    let mut result = Vec::new();
    let mut start = None;
    for (index, c) in text.char_indices() {
        match (is_sep(c), start) {
            (true, Some(begin)) => {
                result.push((&text[begin..index], base + begin..base + index));
                start = None;
            }
            (false, None) => start = Some(index),
            _ => {}
        }
    }
    if let Some(begin) = start {
        result.push((&text[begin..], base + begin..base + text.len()));
    }
    result
}

/// Parses an expression (without the time zone).
pub(crate) fn parse(expression: &str) -> Result<Parsed, CronError> {
    let trimmed_start = expression.len() - expression.trim_start_matches(char::is_whitespace).len();
    let trimmed = expression.trim_matches(char::is_whitespace);
    let trimmed_span = trimmed_start..trimmed_start + trimmed.len();
    if trimmed.is_empty() {
        return Err(CronError::new(
            CronErrorKind::Empty,
            Field::Expression,
            expression,
            0..expression.len(),
            "is empty",
            FIELDS_ALLOWED,
        ));
    }
    if trimmed.starts_with('@') {
        return parse_macro(trimmed, trimmed_start);
    }
    let fields = tokens(trimmed, trimmed_start, is_separator);
    match fields.len() {
        5 => parse_fields(None, &fields),
        6 => parse_fields(Some(&fields[0]), &fields[1..])
            .map_err(|error| explain_six_fields(error, &fields)),
        found => Err(CronError::new(
            CronErrorKind::WrongFieldCount { found },
            Field::Expression,
            trimmed,
            trimmed_span,
            format!("has {found} field{}", if found == 1 { "" } else { "s" }),
            FIELDS_ALLOWED,
        )),
    }
}

/// A six-field expression reads its first field as seconds, so one stray word at the end shifts
/// every field one place right and the error lands in a field the author never meant
/// (`0 9 * * MON-FRI extra` blames "MON" in the month field). When the first five fields make a
/// valid expression on their own, the sixth is reported as an extra field; otherwise the error
/// stays where it was found and says how the fields were read.
fn explain_six_fields(error: CronError, fields: &[(&str, Range<usize>)]) -> CronError {
    let [(seconds, _), (minute, _), (hour, _), (day_of_month, _), (month, _), (extra, extra_span)] =
        fields
    else {
        return error;
    };
    if error.field() == Field::Second {
        return error;
    }
    if parse_fields(None, &fields[..5]).is_ok() {
        return CronError::new(
            CronErrorKind::ExtraField,
            Field::Expression,
            extra,
            extra_span.clone(),
            format!(
                "is a sixth field: with six fields the first (\"{seconds}\") is read as seconds \
                 and the others move one place right (\"{minute}\" as the minute, \"{hour}\" as \
                 the hour, \"{day_of_month}\" as the day of month, \"{month}\" as the month)"
            ),
            format!(
                "five fields (minute hour day-of-month month day-of-week) without \"{extra}\", or \
                 six with seconds first"
            ),
        );
    }
    error.with_note(&format!(
        "the expression has six fields, so the first, \"{seconds}\", is read as seconds"
    ))
}

fn parse_macro(trimmed: &str, base: usize) -> Result<Parsed, CronError> {
    let parts = tokens(trimmed, base, char::is_whitespace);
    let Some((name, name_span)) = parts.first().cloned() else {
        return Err(CronError::new(
            CronErrorKind::Empty,
            Field::Expression,
            trimmed,
            base..base + trimmed.len(),
            "is empty",
            FIELDS_ALLOWED,
        ));
    };
    let lower = name.to_ascii_lowercase();
    let expansion = match lower.as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        "@every" => return parse_every(trimmed, base, &parts),
        "@reboot" => {
            return Err(CronError::new(
                CronErrorKind::NotATimeSchedule,
                Field::Expression,
                name,
                name_span,
                "runs once when cron starts, it is not a time schedule",
                MACRO_ALLOWED,
            ))
        }
        _ => {
            return Err(CronError::new(
                CronErrorKind::UnknownMacro,
                Field::Expression,
                name,
                name_span,
                "is not a known macro",
                MACRO_ALLOWED,
            ))
        }
    };
    if let Some((extra, span)) = parts.get(1) {
        let span = span.start..base + trimmed.len();
        let text = &trimmed[span.start - base..];
        return Err(CronError::new(
            CronErrorKind::InvalidSyntax,
            Field::Expression,
            if text.is_empty() { extra } else { text },
            span,
            format!("follows the macro {name}"),
            "nothing after a macro",
        ));
    }
    let expanded = tokens(expansion, 0, is_separator);
    // The expansion is a constant five-field expression, so errors cannot occur; should one
    // ever do, it is reported against the macro rather than against invisible text.
    parse_fields(None, &expanded).map_err(|_| {
        CronError::new(
            CronErrorKind::UnknownMacro,
            Field::Expression,
            name,
            name_span,
            "could not be expanded",
            MACRO_ALLOWED,
        )
    })
}

fn parse_every(
    trimmed: &str,
    base: usize,
    parts: &[(&str, Range<usize>)],
) -> Result<Parsed, CronError> {
    let invalid = |text: &str, span: Range<usize>, problem: &'static str| {
        CronError::new(
            CronErrorKind::InvalidInterval,
            Field::Expression,
            text,
            span,
            problem,
            INTERVAL_ALLOWED,
        )
    };
    let (duration, span) = match parts {
        [_, duration] => duration.clone(),
        [(name, span)] => return Err(invalid(name, span.clone(), "needs a duration")),
        [_, (_, first), ..] => {
            let span = first.start..base + trimmed.len();
            return Err(invalid(&trimmed[first.start - base..], span, "is not a single duration"));
        }
        [] => return Err(invalid(trimmed, base..base + trimmed.len(), "needs a duration")),
    };
    if let Some((index, c)) = duration.char_indices().find(|(_, c)| !c.is_ascii()) {
        let at = span.start + index..span.start + index + c.len_utf8();
        return Err(CronError::new(
            CronErrorKind::NonAscii,
            Field::Expression,
            duration,
            at,
            format!("contains the non-ASCII character {c:?}"),
            INTERVAL_ALLOWED,
        ));
    }
    let mut total: i64 = 0;
    let mut number: Option<i64> = None;
    for c in duration.bytes() {
        match c {
            b'0'..=b'9' => {
                let digit = i64::from(c - b'0');
                number = Some(number.unwrap_or(0).saturating_mul(10).saturating_add(digit));
            }
            b'd' | b'h' | b'm' | b's' | b'D' | b'H' | b'M' | b'S' => {
                let Some(count) = number.take() else {
                    return Err(invalid(duration, span, "has a unit without a number"));
                };
                let unit = match c.to_ascii_lowercase() {
                    b'd' => 86_400,
                    b'h' => 3_600,
                    b'm' => 60,
                    _ => 1,
                };
                total = total.saturating_add(count.saturating_mul(unit));
            }
            _ => return Err(invalid(duration, span, "is not a duration")),
        }
    }
    if number.is_some() {
        return Err(invalid(duration, span, "ends with a number without a unit"));
    }
    if total <= 0 {
        return Err(invalid(duration, span, "is not a positive duration"));
    }
    if total > MAX_INTERVAL_SECONDS {
        return Err(invalid(duration, span, "is too long"));
    }
    Ok(Parsed::Interval(total))
}

fn parse_fields(
    seconds: Option<&(&str, Range<usize>)>,
    fields: &[(&str, Range<usize>)],
) -> Result<Parsed, CronError> {
    let [minute, hour, day_of_month, month, day_of_week] = fields else {
        return Err(CronError::new(
            CronErrorKind::WrongFieldCount { found: fields.len() },
            Field::Expression,
            "",
            0..0,
            format!("has {} fields", fields.len()),
            FIELDS_ALLOWED,
        ));
    };
    let second = match seconds {
        Some((text, span)) => parse_field(&SECOND, text, span.start)?,
        None => ParsedField::fixed("0", 0),
    };
    let minute_field = parse_field(&MINUTE, minute.0, minute.1.start)?;
    let hour_field = parse_field(&HOUR, hour.0, hour.1.start)?;
    let dom = parse_field(&DAY_OF_MONTH, day_of_month.0, day_of_month.1.start)?;
    let month_field = parse_field(&MONTH, month.0, month.1.start)?;
    let dow = parse_field(&DAY_OF_WEEK, day_of_week.0, day_of_week.1.start)?;

    let combination = if dom.starts_with_star() || dow.starts_with_star() {
        DayCombination::Both
    } else {
        DayCombination::Either
    };
    let days = day_spec(&dom, &dow, combination);
    let matcher =
        Matcher::new(second.bits, minute_field.bits, hour_field.bits, month_field.bits, days);
    if !matcher.fires_ever() {
        // Blame the day field that restricts; with `*` in day-of-month it is day-of-week.
        let (rules, (text, span)) = if dom.starts_with_star() {
            (&DAY_OF_WEEK, day_of_week)
        } else {
            (&DAY_OF_MONTH, day_of_month)
        };
        return Err(CronError::new(
            CronErrorKind::NeverFires,
            rules.field,
            text,
            span.clone(),
            format!(
                "never matches a day in the selected months (month field \"{}\"), so the \
                 expression would never fire",
                month.0
            ),
            "days that exist in at least one selected month",
        ));
    }
    let kind = if minute_field.starts_with_star() || hour_field.starts_with_star() {
        JobKind::Wildcard
    } else {
        JobKind::FixedTime
    };
    Ok(Parsed::Cron(Box::new(CronFields {
        second,
        minute: minute_field,
        hour: hour_field,
        day_of_month: dom,
        month: month_field,
        day_of_week: dow,
        has_seconds: seconds.is_some(),
        kind,
        matcher,
    })))
}

fn day_spec(dom: &ParsedField, dow: &ParsedField, combination: DayCombination) -> DaySpec {
    let (mut last_day, mut last_weekday, mut nearest, mut before_last) = (false, false, 0u32, 0u32);
    for item in &dom.items {
        match *item {
            Item::LastDay => last_day = true,
            Item::LastWeekday => last_weekday = true,
            Item::NearestWeekday(day) => nearest |= 1 << day,
            Item::BeforeLast(offset) => before_last |= 1 << offset,
            _ => {}
        }
    }
    let (mut nth, mut last_of) = ([0u8; 7], 0u8);
    for item in &dow.items {
        match *item {
            Item::NthWeekday { weekday, nth: k } => nth[weekday as usize] |= 1 << k,
            Item::LastOfWeekday(weekday) => last_of |= 1 << weekday,
            _ => {}
        }
    }
    DaySpec::new(
        dom.bits as u32,
        last_day,
        last_weekday,
        nearest,
        before_last,
        dow.bits as u8,
        nth,
        last_of,
        combination,
    )
}

/// Everything needed to report an error inside one field.
struct FieldContext<'a> {
    rules: &'a FieldRules,
    text: &'a str,
    base: usize,
}

impl FieldContext<'_> {
    fn error(
        &self,
        kind: CronErrorKind,
        span: Range<usize>,
        problem: impl Into<std::borrow::Cow<'static, str>>,
    ) -> CronError {
        let text = self.text.get(span.clone()).unwrap_or(self.text);
        CronError::new(
            kind,
            self.rules.field,
            text,
            self.base + span.start..self.base + span.end,
            problem,
            self.rules.allowed,
        )
    }

    fn syntax(&self, span: Range<usize>, problem: &'static str) -> CronError {
        self.error(CronErrorKind::InvalidSyntax, span, problem)
    }
}

fn parse_field(rules: &FieldRules, text: &str, base: usize) -> Result<ParsedField, CronError> {
    let context = FieldContext { rules, text, base };
    if let Some((index, c)) = text.char_indices().find(|(_, c)| !c.is_ascii()) {
        let what = if c.is_numeric() { "digit" } else { "character" };
        return Err(context.error(
            CronErrorKind::NonAscii,
            index..index + c.len_utf8(),
            format!("is a non-ASCII {what}; only ASCII digits and letters are understood"),
        ));
    }
    // From here on the text is ASCII, so byte indexes are character boundaries.
    let mut items = Vec::new();
    let mut start = 0;
    for element in text.split(',') {
        let span = start..start + element.len();
        start = span.end + 1;
        if element.is_empty() {
            return Err(context.error(
                CronErrorKind::EmptyListElement,
                0..text.len(),
                "has an empty list element",
            ));
        }
        items.push(parse_item(&context, element, span)?);
    }
    if items.len() > 1 && text.split(',').any(|element| element == "?") {
        return Err(context.syntax(0..text.len(), "uses ? in a list; ? must stand alone"));
    }
    let mut bits = 0u64;
    for item in &items {
        match *item {
            Item::Every { step } => bits |= stepped_bits(rules.min, rules.max, step),
            Item::Range { start, end, step } => bits |= stepped_bits(start, end, step),
            _ => {}
        }
    }
    if rules.field == Field::DayOfWeek && bits & (1 << 7) != 0 {
        bits = (bits & !(1 << 7)) | 1;
    }
    Ok(ParsedField { text: text.to_owned(), items, bits })
}

fn stepped_bits(start: u32, end: u32, step: u32) -> u64 {
    let mut bits = 0u64;
    let mut value = u64::from(start);
    while value <= u64::from(end) {
        bits |= 1 << value;
        value += u64::from(step.max(1));
    }
    bits
}

/// Parses a run of ASCII digits, saturating (huge numbers are reported as out of range).
fn digits_value(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(
        text.bytes()
            .fold(0u32, |value, b| value.saturating_mul(10).saturating_add(u32::from(b - b'0'))),
    )
}

fn parse_item(
    context: &FieldContext<'_>,
    element: &str,
    span: Range<usize>,
) -> Result<Item, CronError> {
    let rules = context.rules;
    let upper = element.to_ascii_uppercase();
    let is_day_of_month = rules.field == Field::DayOfMonth;
    let is_day_of_week = rules.field == Field::DayOfWeek;

    // Extensions that take no step.
    if upper == "?" {
        if is_day_of_month || is_day_of_week {
            return Ok(Item::Every { step: 1 });
        }
        return Err(
            context.syntax(span, "is only allowed in the day-of-month and day-of-week fields")
        );
    }
    if is_day_of_month {
        if upper == "L" {
            return Ok(Item::LastDay);
        }
        if upper == "LW" {
            return Ok(Item::LastWeekday);
        }
        if let Some(offset) = upper.strip_prefix("L-") {
            let offset_span = span.start + 2..span.end;
            let value = digits_value(offset)
                .ok_or_else(|| context.syntax(span.clone(), "needs a number after L-"))?;
            if value > 30 {
                return Err(context.error(
                    CronErrorKind::OutOfRange { min: 0, max: 30 },
                    offset_span,
                    "is out of range for L-n; n must be 0-30",
                ));
            }
            return Ok(Item::BeforeLast(value));
        }
        if let Some(day) = upper.strip_suffix('W') {
            if let Some(value) = digits_value(day) {
                check_range(context, value, span.start..span.end - 1)?;
                return Ok(Item::NearestWeekday(value));
            }
        }
    }
    if is_day_of_week {
        if let Some((weekday, nth)) = upper.split_once('#') {
            let weekday_span = span.start..span.start + weekday.len();
            let weekday = parse_value(context, weekday, weekday_span)? % 7;
            let nth_value = digits_value(nth)
                .ok_or_else(|| context.syntax(span.clone(), "needs a number 1-5 after #"))?;
            if !(1..=5).contains(&nth_value) {
                return Err(context.error(
                    CronErrorKind::OutOfRange { min: 1, max: 5 },
                    span,
                    "asks for an occurrence outside 1-5 (a month has at most five of each weekday)",
                ));
            }
            return Ok(Item::NthWeekday { weekday, nth: nth_value });
        }
        if let Some(weekday) = upper.strip_suffix('L') {
            if let Some(value) = digits_value(weekday) {
                check_range(context, value, span.start..span.end - 1)?;
                return Ok(Item::LastOfWeekday(value % 7));
            }
        }
    }

    let (base_text, step) = match element.split_once('/') {
        Some((base_text, step_text)) => {
            let base_upper = base_text.to_ascii_uppercase();
            let is_extension = (is_day_of_month
                && (base_upper.starts_with('L') || base_upper.ends_with('W')))
                || (is_day_of_week && (base_upper.contains('#') || base_upper.ends_with('L')));
            if is_extension {
                return Err(context.syntax(span, "puts a step after L, W or #, which take none"));
            }
            if step_text.is_empty() {
                return Err(context.syntax(span, "has no step after /"));
            }
            let step_span = span.start + base_text.len() + 1..span.end;
            let step = digits_value(step_text).ok_or_else(|| {
                context.syntax(step_span.clone(), "is not a step; a step is a whole number")
            })?;
            if step == 0 {
                return Err(context.error(
                    CronErrorKind::ZeroStep,
                    span.clone(),
                    "has step 0; steps must be 1 or more",
                ));
            }
            (base_text, Some(step))
        }
        None => (element, None),
    };
    let base_span = span.start..span.start + base_text.len();
    if base_text == "*" {
        return Ok(Item::Every { step: step.unwrap_or(1) });
    }
    if base_text.is_empty() {
        return Err(context.syntax(span, "is missing a value before the step"));
    }
    if base_text == "?" {
        return Err(context.syntax(span, "puts a step after ?"));
    }
    match base_text.split_once('-') {
        Some((first, last)) => {
            let first_span = base_span.start..base_span.start + first.len();
            let last_span = first_span.end + 1..base_span.end;
            if first.is_empty() || last.is_empty() {
                return Err(context.syntax(base_span, "is an incomplete range; write A-B"));
            }
            let start = parse_value(context, first, first_span)?;
            let end = parse_value(context, last, last_span)?;
            if start > end {
                return Err(context.error(
                    CronErrorKind::ReversedRange,
                    base_span,
                    "is a reversed range (wrap-around ranges are not supported; use a list)",
                ));
            }
            Ok(Item::Range { start, end, step: step.unwrap_or(1) })
        }
        None => {
            let start = parse_value(context, base_text, base_span)?;
            match step {
                // `N/S` runs from N to the field's maximum.
                Some(step) => Ok(Item::Range { start, end: rules.max, step }),
                None => Ok(Item::Range { start, end: start, step: 1 }),
            }
        }
    }
}

fn check_range(
    context: &FieldContext<'_>,
    value: u32,
    span: Range<usize>,
) -> Result<u32, CronError> {
    let rules = context.rules;
    if value < rules.min || value > rules.max {
        return Err(context.error(
            CronErrorKind::OutOfRange { min: rules.min, max: rules.max },
            span,
            "is out of range",
        ));
    }
    Ok(value)
}

/// A number or (in month and day-of-week) a three-letter name.
fn parse_value(
    context: &FieldContext<'_>,
    text: &str,
    span: Range<usize>,
) -> Result<u32, CronError> {
    let rules = context.rules;
    if let Some(value) = digits_value(text) {
        return check_range(context, value, span);
    }
    if text.is_empty() {
        return Err(context.syntax(span, "is missing a value"));
    }
    if !text.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(context.syntax(span, "is not a number"));
    }
    let upper = text.to_ascii_uppercase();
    if let Some(position) = rules.names.iter().position(|name| *name == upper) {
        return Ok(position as u32 + rules.first_name_value);
    }
    let belongs_to = if MONTH_NAMES.contains(&upper.as_str()) {
        Some(Field::Month)
    } else if WEEKDAY_NAMES.contains(&upper.as_str()) {
        Some(Field::DayOfWeek)
    } else {
        None
    };
    match belongs_to {
        Some(belongs_to) => Err(context.error(
            CronErrorKind::NameInWrongField { belongs_to },
            span,
            format!(
                "is a {} name, not allowed in the {} field",
                belongs_to.name(),
                rules.field.name()
            ),
        )),
        None if rules.names.is_empty() => Err(context.syntax(span, "is not a number")),
        None => Err(context.error(
            CronErrorKind::UnknownName,
            span,
            "is not a three-letter name or a number",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cron(expression: &str) -> CronFields {
        match parse(expression) {
            Ok(Parsed::Cron(fields)) => *fields,
            other => panic!("{expression}: {other:?}"),
        }
    }

    fn error(expression: &str) -> CronError {
        match parse(expression) {
            Err(error) => error,
            Ok(parsed) => panic!("{expression} was accepted: {parsed:?}"),
        }
    }

    #[test]
    fn steps_ranges_names_and_lists() {
        let fields = cron("5/15 1-3,20-23/2 */10 FEB-APR/2 mon-fri");
        assert_eq!(fields.minute.bits, 1 << 5 | 1 << 20 | 1 << 35 | 1 << 50);
        assert_eq!(fields.hour.bits, 0b1110 | 1 << 20 | 1 << 22);
        assert_eq!(fields.day_of_month.bits, 1 << 1 | 1 << 11 | 1 << 21 | 1 << 31);
        assert_eq!(fields.month.bits, 1 << 2 | 1 << 4);
        assert_eq!(fields.day_of_week.bits, 0b11_1110);
        assert_eq!(fields.kind, JobKind::FixedTime);
        assert!(!fields.has_seconds);
    }

    #[test]
    fn weekday_seven_is_sunday_and_n_slash_s_runs_to_seven() {
        assert_eq!(cron("0 0 * * 7").day_of_week.bits, 1);
        // 1/2 = Monday, Wednesday, Friday, Sunday.
        assert_eq!(cron("0 0 * * 1/2").day_of_week.bits, 1 | 1 << 1 | 1 << 3 | 1 << 5);
        assert_eq!(cron("*/60 * * * *").minute.bits, 1);
    }

    #[test]
    fn classification_reads_the_text_of_minute_and_hour() {
        assert_eq!(cron("*/15 * * * *").kind, JobKind::Wildcard);
        assert_eq!(cron("30 * * * *").kind, JobKind::Wildcard);
        assert_eq!(cron("*/10 2 * * *").kind, JobKind::Wildcard);
        assert_eq!(cron("0,30 2 * * *").kind, JobKind::FixedTime);
        assert_eq!(cron("0 0-23/2 * * *").kind, JobKind::FixedTime);
        assert_eq!(cron("@hourly").kind, JobKind::Wildcard);
        assert_eq!(cron("@daily").kind, JobKind::FixedTime);
        assert_eq!(cron("*/5 0 9 * * *").kind, JobKind::FixedTime);
    }

    #[test]
    fn day_extensions() {
        let fields = cron("0 0 15W,L-2,LW,L * ?");
        assert_eq!(
            fields.day_of_month.items,
            vec![Item::NearestWeekday(15), Item::BeforeLast(2), Item::LastWeekday, Item::LastDay]
        );
        let fields = cron("0 0 * * 5L,MON#2,7#1");
        assert_eq!(
            fields.day_of_week.items,
            vec![
                Item::LastOfWeekday(5),
                Item::NthWeekday { weekday: 1, nth: 2 },
                Item::NthWeekday { weekday: 0, nth: 1 }
            ]
        );
    }

    #[test]
    fn seconds_field_and_whitespace() {
        let fields = cron("\t*/30  * *\t* * *  ");
        assert!(fields.has_seconds);
        assert_eq!(fields.second.bits, 1 | 1 << 30);
    }

    #[test]
    fn interval_durations() {
        assert_eq!(parse("@every 15m"), Ok(Parsed::Interval(900)));
        assert_eq!(parse("@every 1h30m"), Ok(Parsed::Interval(5400)));
        assert_eq!(parse("@every 1d"), Ok(Parsed::Interval(86_400)));
        assert_eq!(error("@every 0s").kind(), &CronErrorKind::InvalidInterval);
        assert_eq!(error("@every 15").kind(), &CronErrorKind::InvalidInterval);
        assert_eq!(error("@every").kind(), &CronErrorKind::InvalidInterval);
        assert_eq!(error("@every 1h 30m").kind(), &CronErrorKind::InvalidInterval);
        assert_eq!(error("@every 99999999999999999999d").kind(), &CronErrorKind::InvalidInterval);
    }

    #[test]
    fn a_stray_sixth_field_is_reported_as_an_extra_field() {
        let expression = "0 9 * * MON-FRI extra";
        let extra = error(expression);
        assert_eq!(extra.kind(), &CronErrorKind::ExtraField);
        assert_eq!(extra.field(), Field::Expression);
        assert_eq!(extra.text(), "extra");
        assert_eq!(&expression[extra.span()], "extra");
        assert_eq!(
            extra.to_string(),
            "expression: \"extra\" is a sixth field: with six fields the first (\"0\") is read \
             as seconds and the others move one place right (\"9\" as the minute, \"*\" as the \
             hour, \"*\" as the day of month, \"MON-FRI\" as the month); allowed five fields \
             (minute hour day-of-month month day-of-week) without \"extra\", or six with seconds \
             first"
        );
        // A six-field expression that is valid stays valid: "5" is its day of week.
        assert!(parse("30 2 * * * 5").is_ok());
        assert_eq!(error("30 2 * * 1-5 weekdays").kind(), &CronErrorKind::ExtraField);
    }

    #[test]
    fn a_six_field_error_says_the_first_field_was_read_as_seconds() {
        // The first five fields are not an expression either, so the error stays in the
        // field where it was found, with how the fields were read.
        let shifted = error("0 0 9 MON-FRI * *");
        assert_eq!(
            shifted.kind(),
            &CronErrorKind::NameInWrongField { belongs_to: Field::DayOfWeek }
        );
        assert_eq!(shifted.field(), Field::DayOfMonth);
        assert!(
            shifted.to_string().starts_with(
                "day-of-month field: \"MON\" is a day-of-week name, not allowed in the \
                 day-of-month field (the expression has six fields, so the first, \"0\", is \
                 read as seconds); allowed 1-31"
            ),
            "{shifted}"
        );
        // An error in the seconds field itself needs no note, and five fields get none.
        assert_eq!(
            error("61 * * * * *").to_string(),
            "second field: \"61\" is out of range; allowed 0-59"
        );
        assert_eq!(
            error("0 0 * MON *").to_string(),
            "month field: \"MON\" is a day-of-week name, not allowed in the month field; allowed \
             1-12 or JAN-DEC"
        );
    }

    #[test]
    fn error_messages_name_field_text_and_allowed() {
        assert_eq!(
            error("60 * * * *").to_string(),
            "minute field: \"60\" is out of range; allowed 0-59"
        );
        let reversed = error("0 5-1 * * *");
        assert_eq!(reversed.kind(), &CronErrorKind::ReversedRange);
        assert_eq!(reversed.text(), "5-1");
        assert_eq!(reversed.span(), 2..5);
        let wrong = error("0 0 * MON *");
        assert_eq!(wrong.kind(), &CronErrorKind::NameInWrongField { belongs_to: Field::DayOfWeek });
        assert_eq!(wrong.field(), Field::Month);
        assert_eq!(
            error("@reboot").to_string(),
            "expression: \"@reboot\" runs once when cron starts, it is not a time schedule; \
             allowed @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or \
             @every <duration>"
        );
        let never = error("0 0 31 4,6,9,11 *");
        assert_eq!(never.kind(), &CronErrorKind::NeverFires);
        assert_eq!(never.field(), Field::DayOfMonth);
        assert_eq!(never.span(), 4..6);
        let digit = error("\u{663} * * * *");
        assert_eq!(digit.kind(), &CronErrorKind::NonAscii);
        assert_eq!(digit.span(), 0..2);
    }
}
