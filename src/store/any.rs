//! [`AnyStore`]: the backend chosen once, at start-up, from the database URL.

use super::postgres::PgStore;
use super::sqlite::SqliteStore;
use crate::error::{Error, Result};

/// Which database a store speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// Either backend, implementing every concern of [`super::Store`] by delegation (written by
/// `store_concern!` from each concern's method list).
#[derive(Debug, Clone)]
pub enum AnyStore {
    Postgres(PgStore),
    Sqlite(SqliteStore),
}

impl AnyStore {
    /// Connects to `url`: `postgres://...` or `postgresql://...`, `sqlite://path` or
    /// `sqlite:path` (the file and its directories are created if missing), or
    /// `sqlite::memory:`. Does not migrate; call [`super::SchemaStore::migrate`].
    pub async fn connect(url: &str) -> Result<AnyStore> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(AnyStore::Postgres(PgStore::connect(url).await?))
        } else if url.starts_with("sqlite:") {
            Ok(AnyStore::Sqlite(SqliteStore::connect(url).await?))
        } else {
            // Only the scheme: the rest may hold a password.
            let scheme = url.split_once(':').map_or("(none)", |(scheme, _)| scheme);
            Err(Error::invalid(
                "database url scheme",
                scheme,
                "allowed: postgres://, postgresql://, sqlite:",
            ))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            AnyStore::Postgres(_) => Backend::Postgres,
            AnyStore::Sqlite(_) => Backend::Sqlite,
        }
    }

    /// Closes every connection; later calls fail.
    pub async fn close(&self) {
        match self {
            AnyStore::Postgres(store) => store.close().await,
            AnyStore::Sqlite(store) => store.close().await,
        }
    }
}

impl From<PgStore> for AnyStore {
    fn from(store: PgStore) -> Self {
        AnyStore::Postgres(store)
    }
}

impl From<SqliteStore> for AnyStore {
    fn from(store: SqliteStore) -> Self {
        AnyStore::Sqlite(store)
    }
}
