//! One connection to Postgres, to learn whether the server answers and, if not, why.
//!
//! The store's pool retries failed connections by itself until its acquire timeout (30 s) and
//! then reports only "pool timed out", hiding the cause. A single connection fails at once with
//! the real one (`connection refused`, `database "x" does not exist`, a refused login), which
//! the start-up wait logs and classifies. This is the one place outside `src/store` that speaks
//! `sqlx`; it belongs next to the store's `connect` once the store offers such a probe.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::Connection;

use super::wait::AttemptError;

/// Whether `url` names a Postgres server (the only backend that can be waited for: a SQLite
/// file is opened or not).
pub(super) fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// Opens and closes one connection, giving up after `limit`.
pub(super) async fn postgres(url: &str, limit: Duration) -> Result<(), AttemptError> {
    // A URL that does not parse cannot heal by waiting.
    let options = PgConnectOptions::from_str(url)
        .map_err(|error| AttemptError::Permanent(crate::Error::from(error)))?;
    match tokio::time::timeout(limit, PgConnection::connect_with(&options)).await {
        Ok(Ok(connection)) => {
            // Only the answer mattered; a failed goodbye changes nothing.
            let _ = connection.close().await;
            Ok(())
        }
        Ok(Err(error)) => Err(classify(error)),
        Err(_) => Err(AttemptError::Transient(format!("no answer within {limit:?}"))),
    }
}

/// Transient: the network and the server's state (down, starting, shutting down, too many
/// connections, the database not created yet). Permanent: the configuration and the login.
fn classify(error: sqlx::Error) -> AttemptError {
    let transient = match &error {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(database) => database.code().is_some_and(|code| {
            // SQLSTATE classes 08 (connection exception), 53 (insufficient resources: too many
            // connections), 57 (operator intervention: starting up, shutting down), and 3D000
            // (invalid catalog name: the database does not exist yet). Class 28 (invalid
            // authorization: a wrong password, an unknown role, no pg_hba entry) is permanent.
            code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57")
                || code == "3D000"
        }),
        _ => false,
    };
    if transient {
        AttemptError::Transient(error.to_string())
    } else {
        AttemptError::Permanent(crate::Error::from(error))
    }
}
