//! Bulk actions from the jobs table: pause, resume, enable or disable the ticked jobs, or every
//! job matching the table's filters, in one action (the core changes them in one statement and
//! records one audit entry per job; a refusal in any tenant changes nothing).

use rota::api::{BulkJobAction, JobSelection};
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::State;

use super::jobs::{job_filters, HandlerKind, JobStateFilter};
use super::parse_id;
use crate::console::Console;
use crate::error::CommandError;

/// The jobs table's filters, as a bulk action's selection ("all that match").
#[derive(Debug, Clone, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct JobFiltersInput {
    pub search: Option<String>,
    pub tenant: Option<String>,
    pub state: Option<JobStateFilter>,
    pub handler: Option<HandlerKind>,
}

/// Which jobs a bulk action covers.
#[derive(Debug, Clone, Deserialize, Type)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum JobSelectionInput {
    /// The ticked rows, by id.
    Ids { ids: Vec<String> },
    /// Every job matching the filters, on all pages.
    Matching { filters: JobFiltersInput },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum BulkAction {
    Pause,
    Resume,
    Enable,
    Disable,
}

/// What a bulk action did.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BulkResult {
    pub action: BulkAction,
    /// Jobs the selection covered.
    pub selected: u32,
    /// Jobs changed (the others were in that state already).
    pub changed: u32,
}

/// Applies `action` to every selected job not in that state already; with `probation`,
/// re-enabled jobs are on probation.
#[tauri::command]
#[specta::specta]
pub async fn bulk_jobs(
    console: State<'_, Console>,
    selection: JobSelectionInput,
    action: BulkAction,
    probation: bool,
) -> Result<BulkResult, CommandError> {
    let rota = console.rota().await?;
    let selection = match selection {
        JobSelectionInput::Ids { ids } => {
            JobSelection::Ids(ids.iter().map(|id| parse_id(id)).collect::<Result<_, _>>()?)
        }
        JobSelectionInput::Matching { filters } => JobSelection::Matching(job_filters(
            filters.search,
            filters.tenant,
            filters.state,
            filters.handler,
        )),
    };
    let core_action = match action {
        BulkAction::Pause => BulkJobAction::Pause,
        BulkAction::Resume => BulkJobAction::Resume,
        BulkAction::Enable => BulkJobAction::Enable,
        BulkAction::Disable => BulkJobAction::Disable,
    };
    let report = rota.bulk_jobs(&selection, core_action, probation).await?;
    if !report.changed.is_empty() {
        console.schedules_changed().await;
    }
    Ok(BulkResult {
        action,
        selected: u32::try_from(report.selected).unwrap_or(u32::MAX),
        changed: u32::try_from(report.changed.len()).unwrap_or(u32::MAX),
    })
}
