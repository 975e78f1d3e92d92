//! Tenants: creating them, their limits and policies, their notification channels and command defaults.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::policy::TenantPolicy;
use crate::tenant::{NewTenant, Tenant};

/// A change to a tenant's settings; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantUpdate {
    pub max_concurrent: Option<u32>,
    pub weight: Option<u32>,
    /// A paused tenant's runs stay queued (none is claimed) until it is resumed; its schedules
    /// keep ticking (under the default overlap policy, `skip`, an occurrence behind a queued run
    /// of the same job is recorded `skipped`, so the queue does not pile up).
    pub paused: Option<bool>,
}

/// A tenant's notification channels and the defaults of its commands (`rota tenant set`). The
/// webhook secret never shows: `Debug` redacts it and this type is not serialized.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantSettings {
    /// Where the tenant's notifications are posted.
    pub webhook_url: Option<String>,
    /// Signs the tenant's webhooks and its HTTP handlers' requests (`Rota-Signature`).
    pub webhook_secret: Option<crate::handler::SigningSecret>,
    pub notify_email: Option<String>,
    /// Defaults for the limits the tenant's jobs do not set.
    pub command_limits: crate::handler::CommandLimits,
    /// Default run-as user of the tenant's commands.
    pub run_as: Option<String>,
    /// Working directory of the tenant's commands, instead of `<work root>/<tenant>`.
    pub work_dir: Option<std::path::PathBuf>,
    /// Opt-in: a `run.failed` notification for every failed occurrence.
    pub notify_run_failed: bool,
    /// Opt-in: a `tenant.throttled` notification when the rate limit holds runs back (at most
    /// one per rate-limit window).
    pub notify_throttled: bool,
}

/// A change to [`TenantSettings`]: `None` leaves a field as it is, `Some(None)` clears it.
/// `command_limits` replaces the whole set (an empty set clears it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantSettingsUpdate {
    pub webhook_url: Option<Option<String>>,
    pub webhook_secret: Option<Option<crate::handler::SigningSecret>>,
    pub notify_email: Option<Option<String>>,
    pub command_limits: Option<crate::handler::CommandLimits>,
    pub run_as: Option<Option<String>>,
    pub work_dir: Option<Option<std::path::PathBuf>>,
    pub notify_run_failed: Option<bool>,
    pub notify_throttled: Option<bool>,
}

store_concern! {
    /// Tenants: creating them, their limits and policies, their notification channels and command defaults.
    pub trait TenantStore {
        /// Every method that changes something takes the `operator` to record in the audit log,
        /// and writes the entry in the same transaction as the change (see [`crate::audit`]).
        fn create_tenant(&self, tenant: &NewTenant, operator: &str, now: DateTime<Utc>) -> Result<Tenant>;

        fn tenant_by_name(&self, name: &str) -> Result<Tenant>;

        fn list_tenants(&self) -> Result<Vec<Tenant>>;

        /// Changes the settings of tenant `name` (pausing, limits); [`crate::Error::NotFound`] if
        /// there is no such tenant.
        fn update_tenant(&self, name: &str, update: &TenantUpdate, operator: &str, now: DateTime<Utc>) -> Result<Tenant>;

        /// Replaces the rate limit and job defaults of tenant `name`.
        fn set_tenant_policy(&self, name: &str, policy: &TenantPolicy, operator: &str, now: DateTime<Utc>) -> Result<Tenant>;

        /// The channels and command defaults of tenant `name`.
        fn tenant_settings(&self, name: &str) -> Result<TenantSettings>;

        /// Changes the settings of tenant `name`; [`crate::Error::NotFound`] if there is none.
        fn update_tenant_settings(&self, name: &str, update: &TenantSettingsUpdate, operator: &str, now: DateTime<Utc>) -> Result<TenantSettings>;
    }
}
