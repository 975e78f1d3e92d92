//! The library's error type. Every error says what is wrong in words a user can act on, and
//! carries a stable [`ErrorCode`] so that the CLI and the desktop console never match on text.

use serde::Serialize;

/// A stable, machine-readable classification of an [`Error`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// Input failed validation; nothing was changed.
    Invalid,
    /// The named thing does not exist.
    NotFound,
    /// A unique name is already taken.
    AlreadyExists,
    /// An edit was based on an older version of the record; nothing was changed.
    StaleVersion,
    /// The database failed or could not be reached.
    Database,
    /// The current database role may not do this (in this tenant); nothing was changed.
    Forbidden,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `field` holds `value`, which is not allowed; `reason` says what is allowed.
    #[error("{field}: {value:?} is invalid: {reason}")]
    Invalid { field: String, value: String, reason: String },
    #[error("{what} {key:?} does not exist")]
    NotFound { what: &'static str, key: String },
    #[error("{what} {key:?} already exists")]
    AlreadyExists { what: &'static str, key: String },
    #[error(
        "{what} {key:?} was changed by someone else (you edited version {expected}, it is now \
         version {current}); reload it and apply your change again"
    )]
    StaleVersion { what: &'static str, key: String, expected: i64, current: i64 },
    /// The cron expression or time zone is invalid; the message names the field and the text.
    #[error("schedule: {0}")]
    Schedule(#[from] crate::cron::CronError),
    /// A calendar's iCalendar text is refused; `source` names the line and the property.
    #[error("calendar {name}: {source}")]
    Calendar { name: String, source: crate::calendars::CalendarError },
    /// The current database role lacks `capability` (in `tenant`, when the action concerns
    /// one). The database refused it (insufficient privilege, a row-level security policy), or
    /// the role's grants say it would.
    #[error("not allowed: {}", forbidden_text(*capability, tenant.as_deref()))]
    Forbidden { capability: crate::access::Capability, tenant: Option<String> },
    /// The database has not applied migrations this binary needs.
    #[error(
        "the database's schema is at migration {database_version}, older than this rota's \
         {binary_version} ({missing} migration(s) missing): run `rota migrate` (or start \
         `rota serve --migrate`) first"
    )]
    SchemaBehind { database_version: i64, binary_version: i64, missing: usize },
    /// A statement failed or the database could not be reached; `problem` says which way, and
    /// `source` is the driver's error (the store converts it, so no driver type is part of
    /// this one).
    #[error("database error: {source}")]
    Database { problem: DatabaseProblem, source: Box<dyn std::error::Error + Send + Sync> },
    /// Applying the migrations failed; `problem` classifies the database error behind it, if
    /// there was one ([`DatabaseProblem::Other`] for a missing or changed migration).
    #[error("migration failed: {source}")]
    Migrate { problem: DatabaseProblem, source: Box<dyn std::error::Error + Send + Sync> },
}

/// Which way a database operation failed, for callers that react differently to a lost
/// connection (wait and try again) than to a statement the database refused (report it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DatabaseProblem {
    /// The database could not be reached or stopped answering, or its storage failed: a
    /// refused or dropped connection, a pool that timed out or was closed, a server shutting
    /// down, a database file that is busy, locked, full or cannot be opened. The same
    /// operation may succeed later.
    Connection,
    /// A constraint refused the change (unique key, foreign key, `CHECK`, `NOT NULL`).
    Constraint,
    /// Anything else: a statement the database rejected, or a value that did not decode.
    Other,
}

impl Error {
    /// Shorthand for a validation error.
    pub fn invalid(
        field: impl Into<String>,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> Self {
        Error::Invalid { field: field.into(), value: value.to_string(), reason: reason.into() }
    }

    pub fn code(&self) -> ErrorCode {
        match self {
            Error::Invalid { .. } | Error::Schedule(_) | Error::Calendar { .. } => {
                ErrorCode::Invalid
            }
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::AlreadyExists { .. } => ErrorCode::AlreadyExists,
            Error::StaleVersion { .. } => ErrorCode::StaleVersion,
            Error::Forbidden { .. } => ErrorCode::Forbidden,
            Error::Database { .. } | Error::Migrate { .. } | Error::SchemaBehind { .. } => {
                ErrorCode::Database
            }
        }
    }

    /// How a database operation failed, or `None` for errors that are not the database's.
    pub fn database_problem(&self) -> Option<DatabaseProblem> {
        match self {
            Error::Database { problem, .. } | Error::Migrate { problem, .. } => Some(*problem),
            _ => None,
        }
    }

    /// Whether the database could not be reached or stopped answering (see
    /// [`DatabaseProblem::Connection`]): the operation may succeed when tried again later.
    pub fn is_connection_problem(&self) -> bool {
        self.database_problem() == Some(DatabaseProblem::Connection)
    }
}

/// `operate on tenant acme`, or `admin` for what only admins may do.
fn forbidden_text(capability: crate::access::Capability, tenant: Option<&str>) -> String {
    match tenant {
        Some(tenant) => format!("{capability} on tenant {tenant}"),
        None => format!("{capability} (only admins may do this)"),
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
