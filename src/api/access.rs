//! Who may do what: `rota access` (grant, revoke, list, whoami), and the checks that name the
//! capability and the tenant when the current role may not do something.
//!
//! The database enforces every grant on every statement (see [`crate::access`]); the checks
//! here ask it first only so that a refusal says what was missing (`not allowed: operate on
//! tenant acme`) instead of a missing row or a raw database error.

use super::Rota;
use crate::access::{validate_role_name, Capability, GrantRequest, RoleAccess, Whoami};
use crate::error::{Error, Result};
use crate::store::Store;
use crate::tenant::validate_name;

impl<S: Store> Rota<S> {
    /// The current role and what it may do in which tenant.
    pub async fn whoami(&self) -> Result<Whoami> {
        self.store.whoami().await
    }

    /// Every role with grants here or in this database's groups (admins only).
    pub async fn list_access(&self) -> Result<Vec<RoleAccess>> {
        self.require_admin().await?;
        self.store.list_access().await
    }

    /// Creates the login role when missing (with the password, if given), then gives it
    /// `capability` in each tenant, or makes it an admin (admins only; creating a login role
    /// needs a database role with CREATEROLE). Returns whether the role was created.
    pub async fn grant_access(&self, request: &GrantRequest) -> Result<bool> {
        validate_role_name(&request.role)?;
        match (request.capability, request.tenants.is_empty()) {
            (Capability::Admin, false) => {
                return Err(Error::invalid(
                    "tenant",
                    request.tenants.join(", "),
                    "an admin may do everything in every tenant: grant admin without --tenant",
                ))
            }
            (Capability::Admin, true) => {}
            (_, true) => {
                return Err(Error::invalid(
                    "tenant",
                    "(none)",
                    "name at least one tenant (--tenant T) for view, operate or edit",
                ))
            }
            (_, false) => {}
        }
        for tenant in &request.tenants {
            validate_name("tenant", tenant)?;
        }
        self.require_admin().await?;
        self.store.grant_access(request, &self.operator, self.now()).await
    }

    /// Removes `role`'s grant in `tenant`, or all its grants and its membership of this
    /// database's groups (admins only). The login role itself stays. Returns how many grants
    /// were removed.
    pub async fn revoke_access(&self, role: &str, tenant: Option<&str>) -> Result<u64> {
        validate_role_name(role)?;
        self.require_admin().await?;
        self.store.revoke_access(role, tenant, &self.operator, self.now()).await
    }

    /// Ok when the current role has `needed` in `tenant`; otherwise
    /// [`Error::Forbidden`] naming both (also for a tenant the role cannot see, so a refusal
    /// never tells whether such a tenant exists).
    pub(super) async fn require(&self, needed: Capability, tenant: &str) -> Result<()> {
        match self.store.capability_in(tenant).await? {
            Some(capability) if capability.allows(needed) => Ok(()),
            _ => Err(Error::Forbidden { capability: needed, tenant: Some(tenant.to_owned()) }),
        }
    }

    /// Ok when the current role is an admin; otherwise [`Error::Forbidden`].
    pub(super) async fn require_admin(&self) -> Result<()> {
        if self.store.whoami().await?.admin {
            return Ok(());
        }
        Err(Error::Forbidden { capability: Capability::Admin, tenant: None })
    }
}

/// A refusal from the database during an action that needed `needed` in `tenant` names them
/// (the database's own error knows neither); other errors pass unchanged. The check before the
/// action usually refuses first; this covers a grant revoked in between.
pub(super) fn in_tenant(needed: Capability, tenant: &str) -> impl FnOnce(Error) -> Error + '_ {
    move |error| match error {
        Error::Forbidden { .. } => {
            Error::Forbidden { capability: needed, tenant: Some(tenant.to_owned()) }
        }
        other => other,
    }
}
