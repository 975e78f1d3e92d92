//! Named handlers: handler definitions that jobs refer to by name.

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::handler::HandlerSpec;

store_concern! {
    /// Named handlers: handler definitions that jobs refer to by name.
    pub trait HandlerStore {
        fn upsert_named_handler(&self, name: &str, spec: &HandlerSpec, operator: &str, now: DateTime<Utc>) -> Result<()>;

        fn named_handler(&self, name: &str) -> Result<Option<HandlerSpec>>;

        /// Every stored named handler definition, by name.
        fn list_named_handlers(&self) -> Result<Vec<(String, HandlerSpec)>>;
    }
}
