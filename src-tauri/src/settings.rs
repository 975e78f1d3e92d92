//! What the console remembers between starts: the mode the user chose (a JSON file in the
//! app's config directory) and, in Connected mode, the database password (the OS keyring,
//! never the file).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{CommandError, ErrorCode};

/// The mode chosen at first start, as saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SavedMode {
    /// The local SQLite file; the engine runs inside the app.
    Local,
    /// A shared Postgres database. `url` never holds the password.
    Connected { url: String, execute: bool },
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    pub mode: Option<SavedMode>,
    /// Who the console's changes are recorded as made by in the audit log; `None`: the OS user
    /// (or `$ROTA_OPERATOR`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// The console's engine refuses HTTP handler and webhook targets in private networks, as
    /// `rota serve --deny-private-networks` does. Set in the settings file (no screen yet);
    /// read each time the engine starts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deny_private_networks: bool,
    /// Saved connections (environments), switched from the header.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profiles: Vec<Profile>,
    /// The profile last opened; it is the active environment while the open database is its URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_profile: Option<String>,
}

/// A saved connection. `url` never holds the password (the keyring does, keyed by `url`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub name: String,
    pub url: String,
    /// `#rrggbb`, shown behind the name in the header.
    pub colour: String,
    /// Destructive actions ask for confirmation naming the profile.
    pub production: bool,
}

impl Profile {
    /// Checks the name and colour and moves a password out of the URL; returns the profile
    /// to save and that password.
    pub fn validated(self) -> Result<(Profile, Option<String>), CommandError> {
        let name = self.name.trim().to_owned();
        if name.is_empty()
            || name.chars().count() > MAX_PROFILE_NAME
            || name.chars().any(char::is_control)
        {
            return Err(CommandError::invalid(
                "name",
                format!("{name:?} is not a profile name; allowed: 1 to {MAX_PROFILE_NAME} characters, no control characters"),
            ));
        }
        let colour = self.colour.trim();
        let hex = colour.strip_prefix('#').unwrap_or("");
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(CommandError::invalid(
                "colour",
                format!("{colour:?} is not a colour; allowed: #rrggbb"),
            ));
        }
        let (url, password) = split_password(&self.url)?;
        let colour = colour.to_ascii_lowercase();
        Ok((Profile { name, url, colour, production: self.production }, password))
    }
}

/// Longest profile name, in characters: it has to fit in the header.
pub const MAX_PROFILE_NAME: usize = 40;

impl Settings {
    /// Reads the settings; a missing file means a first start. A file open to other users is
    /// tightened to `0600` first, with a warning.
    pub fn load(path: &Path) -> Result<Settings, CommandError> {
        rota::private_files::tighten_file(path).map_err(|error| settings_io(path, &error))?;
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| {
                CommandError::new(
                    ErrorCode::Settings,
                    format!("{} is not valid console settings: {error}", path.display()),
                )
            }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
            Err(error) => Err(settings_io(path, &error)),
        }
    }

    /// Writes the settings atomically (a temporary file renamed over the old one), `0600` in a
    /// `0700` folder (the console's own: tightened if it was open to others).
    pub fn save(&self, path: &Path) -> Result<(), CommandError> {
        if let Some(dir) = path.parent() {
            rota::private_files::own_dir(dir).map_err(|error| settings_io(dir, &error))?;
        }
        let text = serde_json::to_vec_pretty(self)
            .map_err(|error| CommandError::new(ErrorCode::Internal, error.to_string()))?;
        rota::private_files::write_file(path, &text).map_err(|error| settings_io(path, &error))
    }
}

fn settings_io(path: &Path, error: &std::io::Error) -> CommandError {
    CommandError::new(ErrorCode::Settings, format!("cannot use {}: {error}", path.display()))
}

/// Splits a database URL into the URL without its password, which may be saved and shown, and
/// the password, if the URL held one.
pub fn split_password(url: &str) -> Result<(String, Option<String>), CommandError> {
    let mut parsed = url::Url::parse(url.trim()).map_err(|error| {
        // Never echo the URL: it may hold the password.
        CommandError::invalid("url", format!("not a valid database URL: {error}"))
    })?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(CommandError::invalid(
            "url",
            format!(
                "{}:// is not a Postgres URL; allowed: postgres://, postgresql://",
                parsed.scheme()
            ),
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(CommandError::invalid("url", "the URL names no host"));
    }
    let password = parsed
        .password()
        .map(|encoded| {
            percent_encoding::percent_decode_str(encoded).decode_utf8_lossy().into_owned()
        })
        .filter(|password| !password.is_empty());
    // Setting an empty password cannot fail on a URL with a host.
    let _ = parsed.set_password(None);
    Ok((parsed.to_string(), password))
}

/// Puts `password` into `url` (which has none), percent-encoded as the userinfo requires.
pub fn with_password(url: &str, password: Option<&str>) -> Result<String, CommandError> {
    let Some(password) = password else { return Ok(url.to_owned()) };
    let mut parsed = url::Url::parse(url).map_err(|error| {
        CommandError::invalid("url", format!("not a valid database URL: {error}"))
    })?;
    parsed
        .set_password(Some(password))
        .map_err(|()| CommandError::invalid("url", "this URL cannot carry a password"))?;
    Ok(parsed.to_string())
}

/// Where Connected mode passwords are kept.
#[derive(Debug, Clone)]
pub enum PasswordVault {
    /// The OS keyring (Secret Service on Linux), under this service name; the key is the URL
    /// without its password.
    Keyring { service: String },
    /// Nothing is kept: the password is asked for once per session.
    SessionOnly,
}

impl PasswordVault {
    /// The saved password for `url`, if the keyring has one.
    pub fn load(&self, url: &str) -> Option<String> {
        match self {
            PasswordVault::Keyring { service } => {
                keyring::Entry::new(service, url).ok()?.get_password().ok()
            }
            PasswordVault::SessionOnly => None,
        }
    }

    /// Saves the password; `false` when there is no keyring to keep it in (it is then asked for
    /// again next session).
    pub fn save(&self, url: &str, password: &str) -> bool {
        match self {
            PasswordVault::Keyring { service } => keyring::Entry::new(service, url)
                .and_then(|entry| entry.set_password(password))
                .map_err(|error| tracing::warn!(%error, "the keyring cannot keep the password"))
                .is_ok(),
            PasswordVault::SessionOnly => false,
        }
    }

    pub fn forget(&self, url: &str) {
        if let PasswordVault::Keyring { service } = self {
            if let Ok(entry) = keyring::Entry::new(service, url) {
                let _ = entry.delete_credential();
            }
        }
    }
}

/// Where the console keeps its files, runs its jobs' commands, and finds its own executable.
#[derive(Debug, Clone)]
pub struct Paths {
    /// The settings file.
    pub settings: PathBuf,
    /// The Local mode database. The same file the `rota` CLI uses by default
    /// (`~/.local/share/rota/rota.sqlite` on Linux), so both see one standalone scheduler.
    pub local_database: PathBuf,
    /// Command handlers of tenant T run in `work_root/T` unless the job or the tenant sets a
    /// directory: `rota serve`'s default (`~/.local/share/rota/work` on Linux).
    pub work_root: PathBuf,
    /// The executable that applies commands' resource limits and run-as user
    /// (`<exec_wrapper> __exec ...`): this app itself, whose `main` handles `__exec` first.
    pub exec_wrapper: PathBuf,
}

impl Paths {
    /// The per-user locations: `$XDG_CONFIG_HOME/rota/console.json`,
    /// `$XDG_DATA_HOME/rota/rota.sqlite` and `$XDG_DATA_HOME/rota/work` on Linux, and the
    /// running executable. `None` when the user has no such directories or the executable
    /// cannot be found.
    pub fn for_user() -> Option<Paths> {
        Some(Paths {
            settings: dirs::config_dir()?.join("rota").join("console.json"),
            local_database: dirs::data_dir()?.join("rota").join("rota.sqlite"),
            work_root: rota::runtime::default_work_root()?,
            exec_wrapper: std::env::current_exe().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_split_off_and_put_back() {
        let (url, password) =
            split_password("postgres://rota:s%40cret@db.internal:5432/rota").unwrap();
        assert_eq!(url, "postgres://rota@db.internal:5432/rota");
        assert_eq!(password.as_deref(), Some("s@cret"));
        let full = with_password(&url, password.as_deref()).unwrap();
        assert_eq!(split_password(&full).unwrap(), (url, Some("s@cret".to_owned())));
        assert_eq!(split_password("postgres://rota@db/rota").unwrap().1, None);
    }

    #[test]
    fn bad_urls_never_echo_the_password() {
        let error = split_password("mysql://root:hunter2@db/x").unwrap_err();
        assert!(!error.message.contains("hunter2"), "{}", error.message);
        assert_eq!(error.field.as_deref(), Some("url"));
        assert!(split_password("not a url").is_err());
    }

    #[test]
    fn settings_round_trip_without_a_password() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("console.json");
        assert_eq!(Settings::load(&path).unwrap(), Settings::default());
        let settings = Settings {
            mode: Some(SavedMode::Connected {
                url: "postgres://rota@db/rota".into(),
                execute: false,
            }),
            operator: Some("dana".into()),
            deny_private_networks: true,
            ..Settings::default()
        };
        settings.save(&path).unwrap();
        assert_eq!(Settings::load(&path).unwrap(), settings);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"kind\": \"connected\""), "{text}");
        assert!(text.contains("\"operator\": \"dana\""), "{text}");
        assert!(!text.contains("password"), "{text}");
    }
}
