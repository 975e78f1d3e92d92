//! Who the console is connected as, and what that role may do in which tenant, so that the UI
//! can hide or disable what would be refused. The database still decides every statement; a
//! refusal arrives as the typed `forbidden` error.

use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::State;

use crate::console::Console;
use crate::error::CommandError;

/// What a role may do in a tenant; each includes the ones before it (`rota::access::Capability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum Capability {
    View,
    Operate,
    Edit,
    Admin,
}

impl From<rota::access::Capability> for Capability {
    fn from(capability: rota::access::Capability) -> Self {
        match capability {
            rota::access::Capability::View => Capability::View,
            rota::access::Capability::Operate => Capability::Operate,
            rota::access::Capability::Edit => Capability::Edit,
            rota::access::Capability::Admin => Capability::Admin,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TenantAccess {
    pub tenant: String,
    pub capability: Capability,
}

impl From<rota::access::TenantGrant> for TenantAccess {
    fn from(grant: rota::access::TenantGrant) -> Self {
        TenantAccess { tenant: grant.tenant, capability: grant.capability.into() }
    }
}

/// The current role and what it may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Whoami {
    /// The database role (Postgres `session_user`); on SQLite, the operator name.
    pub role: String,
    /// An admin may do everything in every tenant, `grants` aside.
    pub admin: bool,
    /// The tenants granted to a non-admin role, by name.
    pub grants: Vec<TenantAccess>,
    /// SQLite: one user, who is its admin; there are no roles.
    pub single_user: bool,
}

impl From<rota::access::Whoami> for Whoami {
    fn from(whoami: rota::access::Whoami) -> Self {
        Whoami {
            role: whoami.role,
            admin: whoami.admin,
            grants: whoami.grants.into_iter().map(TenantAccess::from).collect(),
            single_user: whoami.single_user,
        }
    }
}

/// The current role and its capabilities (`rota access whoami`).
#[tauri::command]
#[specta::specta]
pub async fn whoami(console: State<'_, Console>) -> Result<Whoami, CommandError> {
    Ok(console.rota().await?.whoami().await?.into())
}

impl From<Capability> for rota::access::Capability {
    fn from(capability: Capability) -> Self {
        match capability {
            Capability::View => rota::access::Capability::View,
            Capability::Operate => rota::access::Capability::Operate,
            Capability::Edit => rota::access::Capability::Edit,
            Capability::Admin => rota::access::Capability::Admin,
        }
    }
}

/// A role and its grants, as the access screen lists it (`rota access list`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RoleView {
    pub role: String,
    /// Whether it may log in (people's roles may; the database's groups may not).
    pub login: bool,
    pub admin: bool,
    pub grants: Vec<TenantAccess>,
}

/// A grant from the access screen (`rota access grant`). The password, if any, goes to the
/// database as a SCRAM verifier and is never sent back.
#[derive(Debug, Clone, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct GrantInput {
    pub role: String,
    /// The tenants, by name (none for `admin`).
    pub tenants: Vec<String>,
    pub capability: Capability,
    /// A new password for the login role; `null` keeps it (or makes a role without one).
    pub password: Option<String>,
}

async fn roles(console: &Console) -> Result<Vec<RoleView>, CommandError> {
    let roles = console.rota().await?.list_access().await?;
    Ok(roles
        .into_iter()
        .map(|role| RoleView {
            role: role.role,
            login: role.login,
            admin: role.admin,
            grants: role.grants.into_iter().map(TenantAccess::from).collect(),
        })
        .collect())
}

/// Every role with grants here or in this database's groups (admins only; Postgres).
#[tauri::command]
#[specta::specta]
pub async fn list_access(console: State<'_, Console>) -> Result<Vec<RoleView>, CommandError> {
    roles(&console).await
}

/// Grants a capability (creating the login role when missing); returns the roles as they are
/// now, never the password.
#[tauri::command]
#[specta::specta]
pub async fn grant_access(
    console: State<'_, Console>,
    input: GrantInput,
) -> Result<Vec<RoleView>, CommandError> {
    let password = match input.password.filter(|text| !text.is_empty()) {
        Some(text) => Some(rota::access::Password::new(text)?),
        None => None,
    };
    let request = rota::access::GrantRequest {
        role: input.role,
        tenants: input.tenants,
        capability: input.capability.into(),
        password,
    };
    console.rota().await?.grant_access(&request).await?;
    roles(&console).await
}

/// Revokes a role's grant in `tenant`, or all of them (`null`); returns the roles as they are
/// now.
#[tauri::command]
#[specta::specta]
pub async fn revoke_access(
    console: State<'_, Console>,
    role: String,
    tenant: Option<String>,
) -> Result<Vec<RoleView>, CommandError> {
    console.rota().await?.revoke_access(&role, tenant.as_deref()).await?;
    roles(&console).await
}
