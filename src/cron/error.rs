//! The one error type of the time engine.
//!
//! Every error names the field it was found in, the offending text, the byte range of that text
//! in the expression (so a UI can underline it) and what would have been allowed there. Callers
//! match on [`CronErrorKind`] and [`Field`], never on the message.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::Serialize;

/// The part of a schedule an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The expression as a whole: emptiness, the number of fields, macros.
    Expression,
    /// The optional first field of a six-field expression.
    Second,
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
    /// The IANA time zone name passed next to the expression.
    TimeZone,
}

impl Field {
    /// The field's name as people write it ("day-of-month").
    pub fn name(self) -> &'static str {
        match self {
            Field::Expression => "expression",
            Field::Second => "second",
            Field::Minute => "minute",
            Field::Hour => "hour",
            Field::DayOfMonth => "day-of-month",
            Field::Month => "month",
            Field::DayOfWeek => "day-of-week",
            Field::TimeZone => "time zone",
        }
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Field::Expression | Field::TimeZone => f.write_str(self.name()),
            _ => write!(f, "{} field", self.name()),
        }
    }
}

/// What is wrong. New kinds may be added, so matches need a wildcard arm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum CronErrorKind {
    /// The expression is empty or only whitespace.
    Empty,
    /// Not five fields (or six with seconds first).
    WrongFieldCount { found: usize },
    /// An `@name` that is not one of the supported macros.
    UnknownMacro,
    /// `@reboot`, which runs at start-up and is not a time schedule.
    NotATimeSchedule,
    /// A malformed or out-of-range `@every` duration.
    InvalidInterval,
    /// A number outside the field's range (or an `n#k` occurrence outside 1-5).
    OutOfRange { min: u32, max: u32 },
    /// A range whose start is after its end (`5-1`); wrap-around ranges are not supported.
    ReversedRange,
    /// A step of zero (`*/0`).
    ZeroStep,
    /// An empty element in a list (`1,,2`, `1,`).
    EmptyListElement,
    /// A month or weekday name used in a field it does not belong to.
    NameInWrongField { belongs_to: Field },
    /// Letters that are not a three-letter month or weekday name.
    UnknownName,
    /// A character outside ASCII, such as a non-ASCII digit.
    NonAscii,
    /// Text that does not follow the field's grammar.
    InvalidSyntax,
    /// The day fields can never match a day in the selected months (`0 0 30 2 *`).
    NeverFires,
    /// The time zone name is not in the IANA database.
    UnknownTimeZone,
    /// Six fields whose first five make a valid expression but whose last five do not: the
    /// sixth is most likely a stray word, and with it the first field was read as seconds.
    ExtraField,
}

/// A rejected expression or time zone. See the module documentation for the message format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CronError {
    kind: CronErrorKind,
    field: Field,
    text: String,
    span: Range<usize>,
    problem: Cow<'static, str>,
    allowed: Cow<'static, str>,
}

impl CronError {
    pub(crate) fn new(
        kind: CronErrorKind,
        field: Field,
        text: &str,
        span: Range<usize>,
        problem: impl Into<Cow<'static, str>>,
        allowed: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            kind,
            field,
            text: text.to_owned(),
            span,
            problem: problem.into(),
            allowed: allowed.into(),
        }
    }

    /// Adds what the parser knows about how it read the expression to the problem, such as
    /// that a sixth field made the first one seconds.
    pub(crate) fn with_note(mut self, note: &str) -> Self {
        self.problem = format!("{} ({note})", self.problem).into();
        self
    }

    /// What is wrong.
    pub fn kind(&self) -> &CronErrorKind {
        &self.kind
    }

    /// Which field (or the expression, or the time zone) the error is about.
    pub fn field(&self) -> Field {
        self.field
    }

    /// The offending text, exactly as written.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Byte range of [`Self::text`] in the expression (in the zone name for
    /// [`Field::TimeZone`]).
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// What would have been accepted at this place, in words ("0-59").
    pub fn allowed(&self) -> &str {
        &self.allowed
    }
}

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: \"{}\" {}; allowed {}", self.field, self.text, self.problem, self.allowed)
    }
}

impl std::error::Error for CronError {}
