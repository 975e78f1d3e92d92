//! Live updates: while a database is open, a task reads the core's change feed
//! ([`rota::api::Rota::changes`]) every [`POLL`] and emits [`ConsoleChanged`] when something
//! changed: the runs created, started or finished since the last look (so the UI patches its
//! caches instead of reloading big tables), and whether jobs, tenants or nodes changed.
//!
//! The feed is the same polling on both backends: three index range reads per look (runs
//! created, started and finished since the cursor) and a few reads by id (the runs it saw
//! running), whatever the database holds.
//! It sees what the engine in this app writes and what `rota serve` daemons write to a shared
//! Postgres alike. (LISTEN/NOTIFY would need a trigger on every write path; at one look per
//! second the polling costs less than a millisecond.)

use std::time::Duration;

use rota::api::{ChangeCursor, Changes};
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::{AppHandle, Manager, Runtime};
use tauri_specta::Event;

use crate::commands::runs::{epoch_ms, RunStatus, Trigger};
use crate::commands::{instant, optional_instant};
use crate::console::Console;
use crate::error::CommandError;

/// How often the change feed is read.
pub const POLL: Duration = Duration::from_secs(1);

/// A run that was created, started or finished, as the UI patches it into its caches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct RunChange {
    pub id: String,
    pub job_id: String,
    pub job: String,
    pub tenant: String,
    pub scheduled_at: String,
    pub trigger: Trigger,
    pub attempt: u32,
    pub status: RunStatus,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// Where the timeline draws it, ms since the epoch (a running run ends at the look).
    pub begin_ms: f64,
    pub end_ms: f64,
}

/// Something changed in the open database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct ConsoleChanged {
    pub runs: Vec<RunChange>,
    /// Too much changed to list: reload what is shown.
    pub reload: bool,
    pub jobs: bool,
    pub tenants: bool,
    pub nodes: bool,
}

impl ConsoleChanged {
    fn new(changes: Changes, now: chrono::DateTime<chrono::Utc>) -> ConsoleChanged {
        ConsoleChanged {
            runs: changes
                .runs
                .iter()
                .map(|span| RunChange {
                    id: span.id.to_string(),
                    job_id: span.job_id.to_string(),
                    job: span.job.clone(),
                    tenant: span.tenant.clone(),
                    scheduled_at: instant(span.scheduled_at),
                    trigger: span.trigger.into(),
                    attempt: span.attempt,
                    status: span.status.into(),
                    started_at: optional_instant(span.started_at),
                    finished_at: optional_instant(span.finished_at),
                    begin_ms: epoch_ms(span.begins_at()),
                    end_ms: epoch_ms(span.ends_at(now)),
                })
                .collect(),
            reload: changes.truncated,
            jobs: changes.jobs,
            tenants: changes.tenants,
            nodes: changes.nodes,
        }
    }
}

/// The feed's position for the open database; a new database starts a new cursor.
#[derive(Debug, Default)]
pub struct LiveFeed {
    cursor: ChangeCursor,
    session: u64,
}

impl LiveFeed {
    /// One look: what changed since the last one, if anything (`None` also without a database,
    /// and on the first look at a database, which only sets the cursor).
    pub async fn poll(
        &mut self,
        console: &Console,
    ) -> Result<Option<ConsoleChanged>, CommandError> {
        let Some((session, rota)) = console.session().await else {
            self.cursor = ChangeCursor::default();
            return Ok(None);
        };
        if session != self.session {
            self.cursor = ChangeCursor::default();
            self.session = session;
        }
        let changes = rota.changes(&mut self.cursor).await?;
        if changes.is_empty() {
            return Ok(None);
        }
        Ok(Some(ConsoleChanged::new(changes, console.now())))
    }
}

/// Starts the task that reads the feed and emits [`ConsoleChanged`] for the app's lifetime.
pub fn start<R: Runtime>(app: AppHandle<R>) {
    tauri::async_runtime::spawn(async move {
        let mut feed = LiveFeed::default();
        loop {
            tokio::time::sleep(POLL).await;
            let console = app.state::<Console>();
            match feed.poll(&console).await {
                Ok(Some(changed)) => {
                    if let Err(error) = changed.emit(&app) {
                        tracing::warn!(%error, "cannot emit the console's live update");
                    }
                }
                Ok(None) => {}
                // The database may be switching or briefly unreachable; the next look retries.
                Err(error) => tracing::debug!(message = %error.message, "live update look failed"),
            }
        }
    });
}
