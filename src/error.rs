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
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
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
            Error::Invalid { .. } | Error::Schedule(_) => ErrorCode::Invalid,
            Error::NotFound { .. } => ErrorCode::NotFound,
            Error::AlreadyExists { .. } => ErrorCode::AlreadyExists,
            Error::StaleVersion { .. } => ErrorCode::StaleVersion,
            Error::Database(_) | Error::Migrate(_) => ErrorCode::Database,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
