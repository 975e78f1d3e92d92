//! The commands the UI calls. Each one translates between transport types (strings for
//! instants and ids, camelCase fields) and one call on `rota::api`; none holds business logic.

pub mod access;
pub mod audit;
pub mod background;
pub mod bulk;
pub mod calendars;
pub mod connection;
pub mod jobs;
pub mod operations;
pub mod overview;
pub mod profiles;
pub mod runs;
pub mod schedule;
pub mod tenants;

use chrono::{DateTime, SecondsFormat, Utc};
use uuid::Uuid;

use crate::error::CommandError;

/// Instants travel as RFC 3339 text in UTC (JavaScript numbers cannot hold every i64).
pub(crate) fn instant(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

pub(crate) fn optional_instant(at: Option<DateTime<Utc>>) -> Option<String> {
    at.map(instant)
}

pub(crate) fn parse_id(id: &str) -> Result<Uuid, CommandError> {
    id.parse().map_err(|_| CommandError::invalid("id", format!("{id:?} is not a job id")))
}
