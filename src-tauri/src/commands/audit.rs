//! The audit log: who changed what, when, with the record before and after.

use rota::api::{AuditEntry, AuditFilter};
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::State;

use super::instant;
use super::runs::parse_instant;
use crate::console::Console;
use crate::error::CommandError;

/// Which entries the audit view shows.
#[derive(Debug, Clone, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AuditQuery {
    /// Entries about this tenant (by name).
    pub tenant: Option<String>,
    /// Entries about jobs of this name.
    pub job: Option<String>,
    /// Entries at or after this RFC 3339 instant.
    pub since: Option<String>,
    /// At most this many, newest first (up to 10,000).
    pub limit: u32,
}

/// One change.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct AuditRow {
    pub id: String,
    pub at: String,
    pub operator: String,
    /// The stored name of the action: `job.enabled`, `tenant.updated`, ...
    pub action: String,
    pub tenant: Option<String>,
    pub job: Option<String>,
    pub handler: Option<String>,
    /// The record before and after the change, as JSON text (absent for creations, deletions
    /// and operations such as a manual run).
    pub before: Option<String>,
    pub after: Option<String>,
}

impl From<AuditEntry> for AuditRow {
    fn from(entry: AuditEntry) -> Self {
        AuditRow {
            id: entry.id.to_string(),
            at: instant(entry.at),
            // On Postgres the role, and the name its client gave when it differs.
            operator: match entry.display_name {
                Some(name) => format!("{} ({name})", entry.operator),
                None => entry.operator,
            },
            action: entry.action.as_str().to_owned(),
            tenant: entry.tenant,
            job: entry.job,
            handler: entry.handler,
            // Redacted when written; again here for entries an older redactor wrote.
            before: entry.before.map(|value| rota::redact::json(value).to_string()),
            after: entry.after.map(|value| rota::redact::json(value).to_string()),
        }
    }
}

/// The audit log, newest first.
#[tauri::command]
#[specta::specta]
pub async fn list_audit(
    console: State<'_, Console>,
    query: AuditQuery,
) -> Result<Vec<AuditRow>, CommandError> {
    let rota = console.rota().await?;
    let filter = AuditFilter {
        tenant: query.tenant.filter(|tenant| !tenant.is_empty()),
        job: query.job.filter(|job| !job.trim().is_empty()),
        since: query.since.as_deref().map(|since| parse_instant("since", since)).transpose()?,
        limit: Some(query.limit),
    };
    Ok(rota.audit_log(&filter).await?.into_iter().map(AuditRow::from).collect())
}
