//! The schema: migrations.

use crate::error::Result;

store_concern! {
    /// The schema: migrations.
    pub trait SchemaStore {
        /// Applies pending migrations (idempotent).
        fn migrate(&self) -> Result<()>;
    }
}
