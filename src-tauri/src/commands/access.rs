//! Who the console is connected as, and what that role may do in which tenant, so that the UI
//! can hide or disable what would be refused. The database still decides every statement; a
//! refusal arrives as the typed `forbidden` error.

use serde::Serialize;
use specta::Type;
use tauri::State;

use crate::console::Console;
use crate::error::CommandError;

/// What a role may do in a tenant; each includes the ones before it (`rota::access::Capability`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Type)]
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
            grants: whoami
                .grants
                .into_iter()
                .map(|grant| TenantAccess {
                    tenant: grant.tenant,
                    capability: grant.capability.into(),
                })
                .collect(),
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
