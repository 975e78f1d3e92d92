//! Who may do what: capabilities per tenant, and the records `rota access` shows.
//!
//! On Postgres the database decides (migration 0010): people log in as their own roles, an
//! admin group may do everything, and every other role sees and changes only the tenants
//! `access_grants` gives it, with one capability each ([`Capability`]). Row-level security is
//! forced on every tenant-owned table, so raw SQL through `psql` is held to the same rules as
//! Rota. The library asks the database what the current role may do ([`Whoami`]) only to say
//! clearly why something is refused ([`crate::Error::Forbidden`]); it never decides alone.
//!
//! SQLite is single-user: whoever opens the file is its admin, and there are no roles.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::text_enum::text_enum;

/// What a role may do in a tenant. Each includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    /// Read the tenant's jobs, runs, notifications and audit entries.
    View,
    /// Also: run now (with a payload), pause and resume, enable and re-enable, backfill,
    /// cancel.
    Operate,
    /// Also: create, change and delete the tenant's jobs.
    Edit,
    /// Everything, in every tenant: tenants themselves, named handlers, grants, secrets.
    Admin,
}

text_enum!(Capability, "capability", {
    View => "view",
    Operate => "operate",
    Edit => "edit",
    Admin => "admin",
});

impl Capability {
    /// Whether this capability includes `needed`.
    pub fn allows(self, needed: Capability) -> bool {
        self >= needed
    }
}

/// One tenant a role may work in, and how.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantGrant {
    pub tenant: String,
    pub capability: Capability,
}

/// What the current database role may do (`rota access whoami`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Whoami {
    /// The role the database sees (`session_user`); on SQLite, the operator name.
    pub role: String,
    /// An admin may do everything in every tenant (the grants below are then not needed).
    pub admin: bool,
    /// The tenants granted to the role, by name.
    pub grants: Vec<TenantGrant>,
    /// SQLite: one user, no roles.
    pub single_user: bool,
}

impl Whoami {
    /// The capability the role has in `tenant` (`Admin` for an admin), if any.
    pub fn capability_in(&self, tenant: &str) -> Option<Capability> {
        if self.admin {
            return Some(Capability::Admin);
        }
        self.grants.iter().find(|grant| grant.tenant == tenant).map(|grant| grant.capability)
    }
}

/// A role as `rota access list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleAccess {
    pub role: String,
    /// Whether the role may log in (people's roles may; the groups may not).
    pub login: bool,
    pub admin: bool,
    pub grants: Vec<TenantGrant>,
}

/// A request of `rota access grant`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantRequest {
    pub role: String,
    /// The tenants, by name (none for [`Capability::Admin`]).
    pub tenants: Vec<String>,
    pub capability: Capability,
    /// The login role's new password, if one is set.
    pub password: Option<Password>,
}

/// A password on its way to the database, where only its SCRAM verifier arrives. `Debug`
/// never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    /// A password typed by a person: not empty, no control characters. Any other Unicode text
    /// is fine: the verifier is computed from its SASLprep form, as Postgres' clients log in.
    pub fn new(text: impl Into<String>) -> Result<Self> {
        let text = text.into();
        if text.is_empty() {
            return Err(Error::invalid("password", "(empty)", "must not be empty"));
        }
        // A tab or a newline in a password is a paste gone wrong far more often than a choice,
        // and some clients cannot type it at the login prompt.
        if text.chars().any(char::is_control) {
            return Err(Error::invalid(
                "password",
                "(hidden)",
                "allowed: any characters except control characters (tab, newline, ...)",
            ));
        }
        Ok(Password(text))
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Longest role name Postgres keeps (63 bytes).
pub const MAX_ROLE_LEN: usize = 63;

/// A login role's name as `rota access` accepts it: lowercase letters, digits and `_`, starting
/// with a letter or `_`, at most 63 bytes, not `pg_...` (reserved by Postgres), not `public`.
/// Plain names need no quoting in `psql` and mean the same thing everywhere.
pub fn validate_role_name(name: &str) -> Result<()> {
    let allowed = "lowercase letters, digits and _, starting with a letter or _, at most 63";
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c == '_');
    let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !starts_well || !rest_ok || name.len() > MAX_ROLE_LEN {
        return Err(Error::invalid("role", name, allowed));
    }
    if name.starts_with("pg_") || name == "public" {
        return Err(Error::invalid("role", name, "pg_* and public are reserved by Postgres"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_include_the_lesser_ones_and_round_trip_as_text() {
        assert!(Capability::Edit.allows(Capability::Operate));
        assert!(Capability::Operate.allows(Capability::View));
        assert!(!Capability::View.allows(Capability::Operate));
        assert!(!Capability::Edit.allows(Capability::Admin));
        for capability in Capability::ALL {
            assert_eq!(capability.as_str().parse::<Capability>().unwrap(), *capability);
        }
        let error = "root".parse::<Capability>().unwrap_err().to_string();
        assert!(error.contains("capability") && error.contains("view, operate, edit, admin"));
    }

    #[test]
    fn role_names_are_plain_identifiers() {
        for good in ["alice", "support_1", "_ops"] {
            validate_role_name(good).unwrap();
        }
        for bad in ["", "Alice", "1st", "a-b", "al ice", "pg_monitor", "public", &"a".repeat(64)] {
            let error = validate_role_name(bad).unwrap_err().to_string();
            assert!(error.starts_with("role:"), "{bad}: {error}");
        }
    }

    #[test]
    fn passwords_never_show_in_debug() {
        let password = Password::new("hunter2").unwrap();
        assert_eq!(format!("{password:?}"), "Password(***)");
        assert!(Password::new("").is_err());
        assert!(Password::new("two\nlines").is_err());
    }
}
