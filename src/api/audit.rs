//! The audit log (who changed what, with the record before and after) and the operator's name
//! that every change made through a [`Rota`] records.

use super::{check_limit, Rota, MAX_LOG_ENTRIES};
use crate::error::Result;
use crate::store::Store;
use crate::tenant::validate_name;

pub use crate::audit::{AuditAction, AuditEntry, AuditFilter};

impl<S: Store> Rota<S> {
    /// The audit log, newest first: who changed what, with the record before and after.
    pub async fn audit_log(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>> {
        if let Some(limit) = filter.limit {
            check_limit("limit", limit, MAX_LOG_ENTRIES)?;
        }
        self.store.list_audit(filter).await
    }
}

/// Checks an operator name typed by a person (the console's operator setting): not blank, no
/// surrounding whitespace or control characters, at most [`crate::audit::MAX_OPERATOR_LEN`]
/// characters. The error names the field `operator`.
pub fn validate_operator(name: &str) -> Result<()> {
    validate_name("operator", name)
}
