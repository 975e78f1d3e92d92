//! Roles and grants on SQLite: none (see the impl).

use chrono::{DateTime, Utc};

use super::SqliteStore;
use crate::error::{Error, Result};
use crate::store::AccessStore;

/// SQLite is single-user: whoever opens the file may do everything in it, and there are no
/// roles to grant (a team shares a Postgres database).
impl AccessStore for SqliteStore {
    async fn whoami(&self) -> Result<crate::access::Whoami> {
        Ok(crate::access::Whoami {
            role: crate::audit::resolve_operator(None),
            admin: true,
            grants: Vec::new(),
            single_user: true,
        })
    }

    async fn capability_in(&self, _tenant: &str) -> Result<Option<crate::access::Capability>> {
        Ok(Some(crate::access::Capability::Admin))
    }

    async fn list_access(&self) -> Result<Vec<crate::access::RoleAccess>> {
        Err(single_user())
    }

    async fn grant_access(
        &self,
        _request: &crate::access::GrantRequest,
        _operator: &str,
        _now: DateTime<Utc>,
    ) -> Result<bool> {
        Err(single_user())
    }

    async fn revoke_access(
        &self,
        _role: &str,
        _tenant: Option<&str>,
        _operator: &str,
        _now: DateTime<Utc>,
    ) -> Result<u64> {
        Err(single_user())
    }
}

fn single_user() -> Error {
    Error::invalid(
        "database",
        "sqlite",
        "SQLite is single-user and has no roles; a team shares a Postgres database \
         (rota access works there)",
    )
}
