//! Tenants: the list with live counts, creating, changing limits, pausing and resuming.

use std::time::Duration;

use rota::api::{RateLimit, TenantPolicy, TenantUpdate};
use rota::tenant::NewTenant;
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::State;

use super::instant;
use crate::console::Console;
use crate::error::CommandError;

/// A tenant as the tenants table shows it.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TenantRow {
    pub id: String,
    pub name: String,
    pub max_concurrent: u32,
    pub weight: u32,
    pub paused: bool,
    pub jobs: u32,
    pub running: u32,
    pub queued: u32,
    /// Runs that ended failed, timed out or lost in the last 24 hours.
    pub failed_24h: u32,
    /// Jobs switched off by the failure threshold.
    pub auto_disabled_jobs: u32,
    pub policy: TenantPolicyInput,
    pub updated_at: String,
}

/// At most `count` runs of the tenant start within any `windowSeconds`, across nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RateLimitInput {
    pub count: u32,
    pub window_seconds: u32,
}

/// A tenant's rate limit and the defaults of its jobs (`null`: none; for the defaults, Rota's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TenantPolicyInput {
    pub rate_limit: Option<RateLimitInput>,
    /// Retries for jobs that do not set their own.
    pub default_max_retries: Option<u32>,
    /// Failed occurrences in a row that disable a job that does not set its own (0: never).
    pub default_auto_disable_after: Option<u32>,
}

impl From<TenantPolicyInput> for TenantPolicy {
    fn from(input: TenantPolicyInput) -> Self {
        TenantPolicy {
            rate_limit: input.rate_limit.map(|limit| RateLimit {
                count: limit.count,
                window: Duration::from_secs(limit.window_seconds.into()),
            }),
            default_max_retries: input.default_max_retries,
            default_auto_disable_after: input.default_auto_disable_after,
        }
    }
}

impl From<&TenantPolicy> for TenantPolicyInput {
    fn from(policy: &TenantPolicy) -> Self {
        TenantPolicyInput {
            rate_limit: policy.rate_limit.map(|limit| RateLimitInput {
                count: limit.count,
                window_seconds: u32::try_from(limit.window.as_secs()).unwrap_or(u32::MAX),
            }),
            default_max_retries: policy.default_max_retries,
            default_auto_disable_after: policy.default_auto_disable_after,
        }
    }
}

/// The editable settings of a tenant.
#[derive(Debug, Clone, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TenantInput {
    pub name: String,
    pub max_concurrent: u32,
    pub weight: u32,
    pub policy: TenantPolicyInput,
}

/// A change of limits or pause state; `null` leaves a setting as it is.
#[derive(Debug, Clone, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TenantChanges {
    pub max_concurrent: Option<u32>,
    pub weight: Option<u32>,
    pub paused: Option<bool>,
    /// Replaces the rate limit and job defaults.
    pub policy: Option<TenantPolicyInput>,
}

fn count(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl From<rota::api::TenantOverview> for TenantRow {
    fn from(overview: rota::api::TenantOverview) -> Self {
        let tenant = overview.tenant;
        TenantRow {
            id: tenant.id.to_string(),
            name: tenant.name,
            max_concurrent: tenant.max_concurrent,
            weight: tenant.weight,
            paused: tenant.paused,
            jobs: count(overview.jobs),
            running: count(overview.running),
            queued: count(overview.queued),
            failed_24h: count(overview.failed_since),
            auto_disabled_jobs: count(overview.auto_disabled_jobs),
            policy: TenantPolicyInput::from(&tenant.policy),
            updated_at: instant(tenant.updated_at),
        }
    }
}

/// Every tenant with its live counts, by name.
#[tauri::command]
#[specta::specta]
pub async fn list_tenants(console: State<'_, Console>) -> Result<Vec<TenantRow>, CommandError> {
    let rota = console.rota().await?;
    Ok(rota.tenant_overview().await?.into_iter().map(TenantRow::from).collect())
}

#[tauri::command]
#[specta::specta]
pub async fn create_tenant(
    console: State<'_, Console>,
    input: TenantInput,
) -> Result<TenantRow, CommandError> {
    let rota = console.rota().await?;
    let tenant =
        NewTenant { name: input.name, max_concurrent: input.max_concurrent, weight: input.weight };
    let created = rota.add_tenant(&tenant, &input.policy.into()).await?;
    Ok(rota.tenant_overview_of(&created.name).await?.into())
}

/// Changes a tenant's limits or pauses/resumes it.
#[tauri::command]
#[specta::specta]
pub async fn update_tenant(
    console: State<'_, Console>,
    name: String,
    changes: TenantChanges,
) -> Result<TenantRow, CommandError> {
    let rota = console.rota().await?;
    let update = TenantUpdate {
        max_concurrent: changes.max_concurrent,
        weight: changes.weight,
        paused: changes.paused,
    };
    let policy = changes.policy.map(TenantPolicy::from);
    let updated = rota.update_tenant(&name, &update, policy.as_ref()).await?;
    Ok(rota.tenant_overview_of(&updated.name).await?.into())
}
