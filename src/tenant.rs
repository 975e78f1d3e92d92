//! Tenants: the customers whose jobs share the scheduler, each with its own limits.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::policy::TenantPolicy;

/// Default for [`Tenant::max_concurrent`]: never more of a tenant's runs at once, across nodes.
pub const DEFAULT_MAX_CONCURRENT: u32 = 3;
/// Upper bound for limits typed by people; far above any sane value, it catches typos.
const MAX_LIMIT: u32 = 100_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tenant {
    pub id: Uuid,
    pub name: String,
    /// Never more than this many of the tenant's runs execute at once, across all nodes.
    pub max_concurrent: u32,
    /// Share of dispatch capacity relative to other tenants with ready work.
    pub weight: u32,
    pub paused: bool,
    /// Rate limit and defaults for the tenant's jobs.
    pub policy: TenantPolicy,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What `rota tenant add` and the console provide to create a tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewTenant {
    pub name: String,
    pub max_concurrent: u32,
    pub weight: u32,
}

impl NewTenant {
    pub fn named(name: impl Into<String>) -> Self {
        NewTenant { name: name.into(), max_concurrent: DEFAULT_MAX_CONCURRENT, weight: 1 }
    }

    /// Checks every field; the error names the first field that is wrong.
    pub fn validate(&self) -> Result<()> {
        validate_name("tenant name", &self.name)?;
        validate_limit("max_concurrent", self.max_concurrent)?;
        validate_limit("weight", self.weight)
    }
}

/// Names are used on command lines and in URLs: printable, no surrounding space, bounded.
pub(crate) fn validate_name(field: &str, name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(Error::invalid(field, name, "must not be empty"));
    }
    if name.trim() != name {
        return Err(Error::invalid(field, name, "must not start or end with whitespace"));
    }
    if name.chars().count() > 200 {
        return Err(Error::invalid(field, name, "must be at most 200 characters"));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::invalid(field, name, "must not contain control characters"));
    }
    Ok(())
}

/// A limit typed by a person (`max_concurrent`, `weight`): 1 to 100,000.
pub fn validate_limit(field: &str, value: u32) -> Result<()> {
    if value == 0 || value > MAX_LIMIT {
        return Err(Error::invalid(field, value, format!("allowed 1-{MAX_LIMIT}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_the_field_and_range() {
        let mut tenant = NewTenant::named("acme");
        tenant.validate().unwrap();
        tenant.max_concurrent = 0;
        let message = tenant.validate().unwrap_err().to_string();
        assert_eq!(message, "max_concurrent: \"0\" is invalid: allowed 1-100000");
        let message = NewTenant::named(" acme").validate().unwrap_err().to_string();
        assert!(message.starts_with("tenant name: \" acme\""), "{message}");
    }
}
