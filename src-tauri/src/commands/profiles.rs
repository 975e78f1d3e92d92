//! Environments: saved connection profiles (a name, the URL without its password, a colour, a
//! production flag), switched from the header. Passwords stay in the OS keyring, keyed by the
//! URL without its password as Connected mode's are.

use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::State;

use super::connection::ConnectionStatus;
use crate::console::Console;
use crate::error::CommandError;
use crate::settings::Profile;

/// A saved profile as the UI lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ProfileView {
    pub name: String,
    /// The URL without its password.
    pub url: String,
    /// `#rrggbb`.
    pub colour: String,
    /// Destructive actions ask for confirmation naming the environment.
    pub production: bool,
    /// The profile the console is connected through now.
    pub active: bool,
}

/// A profile to save (added, or replacing the one with the same name).
#[derive(Debug, Clone, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct ProfileInput {
    pub name: String,
    /// `postgres://user@host/db`; a password in it is moved to the keyring, never saved here.
    pub url: String,
    pub colour: String,
    pub production: bool,
    /// The database password, kept in the OS keyring (when there is one).
    pub password: Option<String>,
}

fn views(profiles: Vec<Profile>, active: Option<&str>) -> Vec<ProfileView> {
    profiles
        .into_iter()
        .map(|profile| ProfileView {
            active: active == Some(profile.name.as_str()),
            name: profile.name,
            url: profile.url,
            colour: profile.colour,
            production: profile.production,
        })
        .collect()
}

#[tauri::command]
#[specta::specta]
pub async fn list_profiles(console: State<'_, Console>) -> Result<Vec<ProfileView>, CommandError> {
    let (profiles, active) = console.profiles().await?;
    Ok(views(profiles, active.as_deref()))
}

/// Saves a profile; returns the profiles now saved.
#[tauri::command]
#[specta::specta]
pub async fn save_profile(
    console: State<'_, Console>,
    input: ProfileInput,
) -> Result<Vec<ProfileView>, CommandError> {
    let profile = Profile {
        name: input.name,
        url: input.url,
        colour: input.colour,
        production: input.production,
    };
    console.save_profile(profile, input.password.as_deref())?;
    list_profiles(console).await
}

/// Forgets a profile (and its saved password, unless another profile uses the same URL).
#[tauri::command]
#[specta::specta]
pub async fn delete_profile(
    console: State<'_, Console>,
    name: String,
) -> Result<Vec<ProfileView>, CommandError> {
    console.delete_profile(&name)?;
    list_profiles(console).await
}

/// Connects through a profile (a console: this app does not execute jobs). Without a working
/// password the status asks for one, as a saved Connected mode does.
#[tauri::command]
#[specta::specta]
pub async fn open_profile(
    console: State<'_, Console>,
    name: String,
) -> Result<ConnectionStatus, CommandError> {
    Ok(console.open_profile(&name).await?.into())
}
