//! The schema: applying migrations, and telling how the database's schema compares with the
//! one this binary was built for.
//!
//! Migrations within a major version are additive only (new tables, new nullable or defaulted
//! columns, new indexes and constraints on new data): a binary keeps working against a schema
//! newer than its own, so a rolling upgrade can migrate with its first node while older nodes
//! keep serving. `tests/migrations_additive.rs` refuses a migration that drops or renames.

use crate::error::{Error, Result};

/// How the database's applied migrations compare with this binary's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaStatus {
    /// Migrations this binary has and the database has not applied.
    pub missing: Vec<i64>,
    /// Migrations the database has applied that this binary does not know (a newer binary
    /// applied them).
    pub unknown: Vec<i64>,
    /// The highest migration this binary has.
    pub binary_version: i64,
    /// The highest migration the database has applied (0 when none).
    pub database_version: i64,
}

impl SchemaStatus {
    /// The status of a database that applied `applied`, for a binary that has `known`.
    pub fn compare(known: &[i64], applied: &[i64]) -> SchemaStatus {
        SchemaStatus {
            missing: known.iter().copied().filter(|v| !applied.contains(v)).collect(),
            unknown: applied.iter().copied().filter(|v| !known.contains(v)).collect(),
            binary_version: known.iter().copied().max().unwrap_or(0),
            database_version: applied.iter().copied().max().unwrap_or(0),
        }
    }

    /// Ok when this binary can work on the database: every migration it needs is applied. A
    /// newer schema is fine (migrations are additive); the caller may warn about it
    /// ([`SchemaStatus::is_newer`]).
    pub fn check(&self) -> Result<()> {
        if self.missing.is_empty() {
            return Ok(());
        }
        Err(Error::SchemaBehind {
            database_version: self.database_version,
            binary_version: self.binary_version,
            missing: self.missing.len(),
        })
    }

    /// Whether a newer binary migrated the database further than this one knows.
    pub fn is_newer(&self) -> bool {
        !self.unknown.is_empty()
    }
}

store_concern! {
    /// The schema: migrations.
    pub trait SchemaStore {
        /// Applies pending migrations (idempotent). Migrations a newer binary applied are left
        /// alone.
        fn migrate(&self) -> Result<()>;

        /// How the database's schema compares with this binary's, without changing anything.
        fn schema_status(&self) -> Result<SchemaStatus>;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behind_is_an_error_that_says_to_migrate_and_ahead_is_fine() {
        let current = SchemaStatus::compare(&[1, 2, 3], &[1, 2, 3]);
        assert!(current.check().is_ok() && !current.is_newer());
        let behind = SchemaStatus::compare(&[1, 2, 3], &[1, 2]);
        let message = behind.check().unwrap_err().to_string();
        assert!(
            message.contains("rota migrate") && message.contains('2') && message.contains('3'),
            "{message}"
        );
        let empty = SchemaStatus::compare(&[1, 2, 3], &[]);
        assert_eq!((empty.database_version, empty.missing.len()), (0, 3));
        let ahead = SchemaStatus::compare(&[1, 2, 3], &[1, 2, 3, 4]);
        assert!(ahead.check().is_ok() && ahead.is_newer());
        assert_eq!(ahead.unknown, vec![4]);
    }
}
