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
    if let Some(hidden) = hidden_character(name) {
        return Err(Error::invalid(
            field,
            name,
            format!(
                "must not contain control or format characters; it contains U+{:04X}",
                u32::from(hidden)
            ),
        ));
    }
    Ok(())
}

/// The first character of `text` that is a control character (Unicode general category Cc) or
/// an invisible format character (Cf: bidirectional overrides such as U+202E, zero-width spaces
/// and joiners, the byte-order mark). Names with them look like other names, or are shown
/// reordered, so two tenants or jobs could look alike.
pub(crate) fn hidden_character(text: &str) -> Option<char> {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    text.chars().find(|c| {
        matches!(c.general_category(), GeneralCategory::Control | GeneralCategory::Format)
    })
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

    #[test]
    fn names_with_invisible_or_reordering_characters_are_refused() {
        for (name, code) in [
            ("acme\u{202E}moc.evil", "U+202E"),
            ("ac\u{200B}me", "U+200B"),
            ("\u{FEFF}acme", "U+FEFF"),
            ("acme\u{2066}x", "U+2066"),
            ("a\u{7}b", "U+0007"),
            ("a\u{AD}b", "U+00AD"),
            ("tag\u{E0041}", "U+E0041"),
        ] {
            let message = NewTenant::named(name).validate().unwrap_err().to_string();
            assert!(message.starts_with("tenant name: "), "{message}");
            assert!(message.contains(code), "{message} should name {code}");
        }
        // Letters of any script, and visible punctuation, stay allowed.
        NewTenant::named("Zürich-Ops ☃ 東京").validate().unwrap();
    }
}
