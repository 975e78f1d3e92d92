//! Local mode in the background: who executes the local database's jobs (this app, or the
//! user service it attached to), the user service's controls, and the answer to the
//! close-window question.

use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::{AppHandle, Runtime, State};
use tauri_specta::Event;

use crate::background::ServiceState;
use crate::console::{Background, Console, Executor};
use crate::error::CommandError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ExecutorKind {
    /// This app's engine, while its window is open.
    App,
    /// Another process: the user service, a `rota serve`, another console.
    Elsewhere,
    /// Nobody here (Connected mode without execution).
    Nobody,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// No systemd user session, or no `rota` executable: `reason` says which.
    Unavailable,
    NotInstalled,
    Installed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BackgroundStatus {
    pub executor: ExecutorKind,
    /// The process executing the jobs when it is not this app (`pid 1234, node ...`).
    pub holder: Option<String>,
    pub service: ServiceKind,
    /// Why the service is unavailable.
    pub reason: Option<String>,
    /// systemd's state of the installed service: `active`, `inactive`, `failed`, ...
    pub active: Option<String>,
    /// Whether it starts at login.
    pub enabled: bool,
    /// Whether this desktop can show a tray icon ("keep running in the tray").
    pub tray: bool,
}

impl From<Background> for BackgroundStatus {
    fn from(background: Background) -> Self {
        let (executor, holder) = match background.executor {
            Executor::App => (ExecutorKind::App, None),
            Executor::Elsewhere { holder } => (ExecutorKind::Elsewhere, Some(holder)),
            Executor::Nobody => (ExecutorKind::Nobody, None),
        };
        let (service, reason, active, enabled) = match background.service {
            ServiceState::Unavailable { reason } => {
                (ServiceKind::Unavailable, Some(reason), None, false)
            }
            ServiceState::NotInstalled => (ServiceKind::NotInstalled, None, None, false),
            ServiceState::Installed { active, enabled } => {
                (ServiceKind::Installed, None, Some(active), enabled)
            }
        };
        BackgroundStatus {
            executor,
            holder,
            service,
            reason,
            active,
            enabled,
            tray: crate::tray::available(),
        }
    }
}

/// Emitted when the window is asked to close while this app executes the local database's
/// jobs: the UI asks whether to stop the scheduler or keep it running in the background.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type, Event)]
#[serde(rename_all = "camelCase")]
pub struct CloseRequested {}

#[tauri::command]
#[specta::specta]
pub async fn background_status(
    console: State<'_, Console>,
) -> Result<BackgroundStatus, CommandError> {
    Ok(console.background().await?.into())
}

/// "Keep running when the window is closed and start at login": the user service takes over.
#[tauri::command]
#[specta::specta]
pub async fn run_in_background(
    console: State<'_, Console>,
) -> Result<BackgroundStatus, CommandError> {
    Ok(console.run_in_background().await?.into())
}

#[tauri::command]
#[specta::specta]
pub async fn stop_service(console: State<'_, Console>) -> Result<BackgroundStatus, CommandError> {
    Ok(console.stop_service().await?.into())
}

#[tauri::command]
#[specta::specta]
pub async fn restart_service(
    console: State<'_, Console>,
) -> Result<BackgroundStatus, CommandError> {
    Ok(console.restart_service().await?.into())
}

#[tauri::command]
#[specta::specta]
pub async fn remove_service(console: State<'_, Console>) -> Result<BackgroundStatus, CommandError> {
    Ok(console.remove_service().await?.into())
}

/// Closes the app: its engine (if any) stops, letting running jobs finish within the grace.
#[tauri::command]
#[specta::specta]
pub async fn quit_app(console: State<'_, Console>) -> Result<(), CommandError> {
    console.request_quit();
    Ok(())
}

/// "Keep running in the tray": hides the window behind a tray icon; this app's engine keeps
/// executing the jobs while the user is logged in.
#[tauri::command]
#[specta::specta]
pub async fn keep_in_tray(console: State<'_, Console>) -> Result<(), CommandError> {
    if !crate::tray::available() {
        return Err(CommandError::new(
            crate::error::ErrorCode::Settings,
            "this desktop has no tray (libayatana-appindicator3-1 is not installed)",
        ));
    }
    console.request_tray();
    Ok(())
}

/// Sends [`CloseRequested`] to the window.
pub fn ask_before_closing<R: Runtime>(app: &AppHandle<R>) {
    let event = CloseRequested {};
    if let Err(error) = event.emit(app) {
        tracing::warn!(%error, "cannot ask the window whether to stop the scheduler");
    }
}
