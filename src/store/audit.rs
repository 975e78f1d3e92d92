//! The audit log (entries are written by the changes themselves, in their transactions).

use crate::error::Result;

store_concern! {
    /// The audit log (entries are written by the changes themselves, in their transactions).
    pub trait AuditLog {
        /// The audit log, newest first.
        fn list_audit(&self, filter: &crate::audit::AuditFilter) -> Result<Vec<crate::audit::AuditEntry>>;
    }
}
