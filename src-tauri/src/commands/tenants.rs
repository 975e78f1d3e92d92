//! Tenants: the list with live counts, creating, changing limits, pausing and resuming.

use rota::api::TenantUpdate;
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
    pub updated_at: String,
}

/// The editable settings of a tenant.
#[derive(Debug, Clone, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TenantInput {
    pub name: String,
    pub max_concurrent: u32,
    pub weight: u32,
}

/// A change of limits or pause state; `null` leaves a setting as it is.
#[derive(Debug, Clone, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct TenantChanges {
    pub max_concurrent: Option<u32>,
    pub weight: Option<u32>,
    pub paused: Option<bool>,
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
    let created = rota.add_tenant(&tenant).await?;
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
    let updated = rota.update_tenant(&name, &update).await?;
    Ok(rota.tenant_overview_of(&updated.name).await?.into())
}
