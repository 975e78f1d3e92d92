//! Roles and grants (Postgres; SQLite is single-user): what the current role may do, and
//! `rota access grant`, `revoke` and `list`.

use chrono::{DateTime, Utc};

use crate::access::{Capability, GrantRequest, RoleAccess, Whoami};
use crate::error::Result;

store_concern! {
    /// Roles and grants (Postgres; SQLite is single-user): what the current role may do, and
    /// `rota access grant`, `revoke` and `list`.
    pub trait AccessStore {
        /// The current role and its grants, read by the database for this statement.
        fn whoami(&self) -> Result<Whoami>;

        /// The current role's capability in tenant `tenant` (`Admin` for an admin), if any.
        /// One indexed lookup; the database enforces the same grants on every statement.
        fn capability_in(&self, tenant: &str) -> Result<Option<Capability>>;

        /// Every role that has grants here or belongs to this database's groups, by name.
        fn list_access(&self) -> Result<Vec<RoleAccess>>;

        /// Creates the login role when missing, sets its password if given, and sets its
        /// capability in each tenant (or makes it an admin), with an `access.granted` audit
        /// entry (no password) in the same transaction. Returns whether it was created.
        fn grant_access(&self, request: &GrantRequest, operator: &str, now: DateTime<Utc>) -> Result<bool>;

        /// Removes the role's grant in `tenant`, or all its grants and its membership of this
        /// database's groups, with an `access.revoked` audit entry. Returns how many grants
        /// were removed.
        fn revoke_access(&self, role: &str, tenant: Option<&str>, operator: &str, now: DateTime<Utc>) -> Result<u64>;
    }
}
