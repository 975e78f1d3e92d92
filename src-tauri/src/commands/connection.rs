//! Choosing the database: Local mode (a SQLite file, jobs executed by this app) or Connected
//! mode (the team's Postgres, a console unless execution is turned on).

use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::State;

use crate::console::{Console, Status};
use crate::error::CommandError;
use crate::settings::SavedMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    Local,
    Connected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// Nothing chosen yet: show the mode picker.
    Setup,
    /// Connected mode needs this session's password.
    PasswordRequired,
    Open,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ConnectionStatus {
    pub state: ConnectionState,
    pub mode: Option<Mode>,
    /// The database file, or the URL without its password.
    pub location: Option<String>,
    /// Whether this app executes jobs (always in Local mode).
    pub executing: bool,
    /// Why the saved connection could not be opened, if it could not.
    pub problem: Option<String>,
    /// The saved profile the open database belongs to: its name and colour are always shown.
    pub environment: Option<Environment>,
}

/// The environment the console works in (a saved profile).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    pub name: String,
    /// `#rrggbb`.
    pub colour: String,
    /// Destructive actions ask for confirmation naming the environment.
    pub production: bool,
}

impl From<Status> for ConnectionStatus {
    fn from(status: Status) -> Self {
        match status {
            Status::Setup => ConnectionStatus {
                state: ConnectionState::Setup,
                mode: None,
                location: None,
                executing: false,
                problem: None,
                environment: None,
            },
            Status::PasswordRequired { url, problem } => ConnectionStatus {
                state: ConnectionState::PasswordRequired,
                mode: Some(Mode::Connected),
                location: Some(rota::redact::url(&url)),
                executing: false,
                problem,
                environment: None,
            },
            Status::Open { mode, location, executing, environment } => ConnectionStatus {
                state: ConnectionState::Open,
                mode: Some(match mode {
                    SavedMode::Local => Mode::Local,
                    SavedMode::Connected { .. } => Mode::Connected,
                }),
                location: Some(rota::redact::text(&location).into_owned()),
                executing,
                problem: None,
                environment: environment.map(|profile| Environment {
                    name: profile.name,
                    colour: profile.colour,
                    production: profile.production,
                }),
            },
        }
    }
}

/// What the user typed to connect to a shared database.
#[derive(Debug, Clone, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ConnectRequest {
    /// `postgres://user@host/db`; a password in it is moved out before anything is saved.
    pub url: String,
    pub password: Option<String>,
    /// Keep the password in the OS keyring (when there is one) for the next sessions.
    pub remember_password: bool,
    /// Execute jobs in this app too, besides the `rota serve` daemons.
    pub execute_jobs: bool,
}

/// Opens the database chosen in an earlier session, if it opens without questions.
#[tauri::command]
#[specta::specta]
pub async fn open_saved_connection(
    console: State<'_, Console>,
) -> Result<ConnectionStatus, CommandError> {
    Ok(console.open_saved().await?.into())
}

#[tauri::command]
#[specta::specta]
pub async fn connection_status(
    console: State<'_, Console>,
) -> Result<ConnectionStatus, CommandError> {
    Ok(console.status().await?.into())
}

/// Local mode, with the demo tenants and jobs added to an empty database when `demo` is set.
#[tauri::command]
#[specta::specta]
pub async fn open_local(
    console: State<'_, Console>,
    demo: bool,
) -> Result<ConnectionStatus, CommandError> {
    Ok(console.open_local(demo).await?.into())
}

#[tauri::command]
#[specta::specta]
pub async fn connect_postgres(
    console: State<'_, Console>,
    request: ConnectRequest,
) -> Result<ConnectionStatus, CommandError> {
    let status = console
        .connect(
            &request.url,
            request.password.as_deref(),
            request.remember_password,
            request.execute_jobs,
        )
        .await?;
    Ok(status.into())
}

/// Connected mode: execute jobs in this app, or not.
#[tauri::command]
#[specta::specta]
pub async fn set_execution(
    console: State<'_, Console>,
    enabled: bool,
) -> Result<ConnectionStatus, CommandError> {
    Ok(console.set_execution(enabled).await?.into())
}

/// Closes the database and forgets the choice, to pick a mode again.
#[tauri::command]
#[specta::specta]
pub async fn switch_mode(console: State<'_, Console>) -> Result<ConnectionStatus, CommandError> {
    Ok(console.forget().await?.into())
}
