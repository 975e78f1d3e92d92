//! In-process handlers registered by name: how an application that embeds Rota runs Rust code
//! on a schedule. A job refers to one with `{"type":"named","name":"reports.daily"}`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::spec::{validate_handler_name, HandlerSpecError};
use super::Handler;

/// In-process handlers by name. Built once at start-up, then shared (it is cheap to clone).
#[derive(Clone, Default)]
pub struct HandlerRegistry {
    handlers: BTreeMap<String, Arc<dyn Handler>>,
}

impl HandlerRegistry {
    pub fn new() -> Self {
        HandlerRegistry::default()
    }

    /// Registers `handler` under `name` (see [`validate_handler_name`] for the allowed names).
    /// A name can be registered once; registering it again is a mistake and is refused.
    pub fn register(
        &mut self,
        name: impl Into<String>,
        handler: Arc<dyn Handler>,
    ) -> Result<(), RegistryError> {
        let name = name.into();
        validate_handler_name(&name)?;
        if self.handlers.contains_key(&name) {
            return Err(RegistryError::AlreadyRegistered { name });
        }
        self.handlers.insert(name, handler);
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<Arc<dyn Handler>> {
        self.handlers.get(name).cloned()
    }

    /// Registered names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.handlers.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.handlers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.handlers.is_empty()
    }
}

impl fmt::Debug for HandlerRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerRegistry").field("names", &self.handlers.keys()).finish()
    }
}

/// Why a handler could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    #[error(transparent)]
    InvalidName(#[from] HandlerSpecError),
    #[error("a handler named {name:?} is already registered")]
    AlreadyRegistered { name: String },
}

#[cfg(test)]
mod tests {
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::handler::{Envelope, Outcome};

    struct Echo;

    #[async_trait::async_trait]
    impl Handler for Echo {
        async fn run(&self, envelope: &Envelope, _cancel: CancellationToken) -> Outcome {
            Outcome::succeeded(envelope.job.clone())
        }
    }

    #[test]
    fn registers_and_finds_by_name() {
        let mut registry = HandlerRegistry::new();
        registry.register("reports.daily", Arc::new(Echo)).unwrap();
        registry.register("b-other_1", Arc::new(Echo)).unwrap();
        assert!(registry.get("reports.daily").is_some());
        assert!(registry.get("reports.weekly").is_none());
        assert_eq!(registry.names().collect::<Vec<_>>(), ["b-other_1", "reports.daily"]);
        assert_eq!(
            format!("{registry:?}"),
            r#"HandlerRegistry { names: ["b-other_1", "reports.daily"] }"#
        );
    }

    #[test]
    fn refuses_duplicates_and_bad_names() {
        let mut registry = HandlerRegistry::new();
        registry.register("reports.daily", Arc::new(Echo)).unwrap();
        assert_eq!(
            registry.register("reports.daily", Arc::new(Echo)),
            Err(RegistryError::AlreadyRegistered { name: "reports.daily".into() })
        );
        let error = registry.register("has space", Arc::new(Echo)).unwrap_err();
        assert!(error.to_string().contains("\"has space\""), "{error}");
        assert_eq!(registry.len(), 1);
    }
}
