//! Local mode in the background: "keep running when the window is closed and start at login"
//! installs a systemd user service, `rota serve` on the console's own SQLite file and work root,
//! under the same user. From then on the service executes the local database's jobs and the
//! console is its client: the core's engine lock (`rota::runtime::engine_lock`) lets exactly
//! one engine run on the file, so the console never starts a second one beside it.
//!
//! The unit is written to `~/.config/systemd/user/rota.service` (it overrides the package's
//! `/usr/lib/systemd/user/rota.service` of the same name), naming the `rota` executable found
//! next to this app (`/usr/bin/rota` beside `/usr/bin/rota-desktop`; `target/debug/rota` in a
//! build tree), the database and the work root. Everything goes through `systemctl --user`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{CommandError, ErrorCode};

/// The unit's name, for `systemctl --user`.
pub const UNIT: &str = "rota.service";

/// Where the service is, as far as systemd knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceState {
    /// No systemd user manager answers (no systemd, no login session), or no `rota`
    /// executable next to the app; `reason` says which.
    Unavailable { reason: String },
    /// The user manager answers; this app's unit is not installed.
    NotInstalled,
    /// Installed; `active` is systemd's `ActiveState` (`active`, `inactive`, `failed`, ...).
    Installed { active: String, enabled: bool },
}

/// The user service of one console's Local mode.
#[derive(Debug, Clone)]
pub struct UserService {
    /// `~/.config/systemd/user/rota.service`.
    pub unit_file: PathBuf,
    /// The `rota` executable the unit starts, if one was found.
    pub rota: Option<PathBuf>,
    /// The Local mode database.
    pub database: PathBuf,
    /// Tenants' working directories (the console's work root).
    pub work_root: PathBuf,
}

/// The `rota` executable that belongs with the app at `app`: its neighbour.
pub fn rota_beside(app: &Path) -> Option<PathBuf> {
    let candidate = app.parent()?.join("rota");
    candidate.is_file().then_some(candidate)
}

/// The unit's text. The database URL and work root are the console's own, so the service
/// executes exactly what the console shows; `--migrate` keeps the file current after an
/// upgrade of the package, as the console does on opening it.
pub fn unit_text(rota: &Path, database: &Path, work_root: &Path) -> String {
    format!(
        "# Written by the Rota console (\"keep running when the window is closed\"); the console\n\
         # removes it again from the same screen.\n\
         [Unit]\n\
         Description=Rota scheduler for the console's local database\n\
         Documentation=file:///usr/share/doc/rota/README.md\n\
         \n\
         [Service]\n\
         Type=exec\n\
         ExecStart=\"{rota}\" serve --migrate --database \"sqlite://{database}\" --work-root \"{work_root}\"\n\
         KillMode=mixed\n\
         TimeoutStopSec=45s\n\
         Restart=on-failure\n\
         RestartSec=5s\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
        rota = systemd_quoted(rota),
        database = systemd_quoted(database),
        work_root = systemd_quoted(work_root),
    )
}

/// A path inside double quotes in a unit file: `\`, `"` escaped, and `%` (a specifier) doubled.
fn systemd_quoted(path: &Path) -> String {
    path.display().to_string().replace('\\', "\\\\").replace('"', "\\\"").replace('%', "%%")
}

fn systemctl(args: &[&str]) -> Result<std::process::Output, String> {
    Command::new("systemctl")
        .arg("--user")
        .args(args)
        .output()
        .map_err(|error| format!("cannot run systemctl: {error}"))
}

fn failed(what: &str, output: &std::process::Output) -> CommandError {
    let detail = String::from_utf8_lossy(&output.stderr).trim().to_owned();
    CommandError::new(
        ErrorCode::Settings,
        format!("systemctl --user {what} failed ({}): {detail}", output.status),
    )
}

fn run(args: &[&str]) -> Result<(), CommandError> {
    let output =
        systemctl(args).map_err(|message| CommandError::new(ErrorCode::Settings, message))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(failed(&args.join(" "), &output))
    }
}

impl UserService {
    /// What systemd says about the service.
    pub fn state(&self) -> ServiceState {
        if self.rota.is_none() {
            return ServiceState::Unavailable {
                reason: "there is no rota executable next to this app (install the rota package)"
                    .into(),
            };
        }
        match systemctl(&["show-environment"]) {
            Ok(output) if output.status.success() => {}
            Ok(_) | Err(_) => {
                return ServiceState::Unavailable {
                    reason: "no systemd user session answers (systemctl --user)".into(),
                }
            }
        }
        if !self.unit_file.exists() {
            return ServiceState::NotInstalled;
        }
        let value = |property: &str| {
            systemctl(&["show", "--property", property, "--value", UNIT])
                .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
                .unwrap_or_default()
        };
        ServiceState::Installed {
            active: value("ActiveState"),
            enabled: value("UnitFileState") == "enabled",
        }
    }

    /// Writes the unit, and enables and starts it. The caller stops its own engine first, so
    /// that the service can take the database's engine lock.
    pub fn install(&self) -> Result<(), CommandError> {
        let Some(rota) = &self.rota else {
            return Err(CommandError::new(
                ErrorCode::Settings,
                "there is no rota executable next to this app; install the rota package",
            ));
        };
        if let Some(dir) = self.unit_file.parent() {
            std::fs::create_dir_all(dir).map_err(|error| {
                CommandError::new(
                    ErrorCode::Settings,
                    format!("cannot create {}: {error}", dir.display()),
                )
            })?;
        }
        std::fs::write(&self.unit_file, unit_text(rota, &self.database, &self.work_root)).map_err(
            |error| {
                CommandError::new(
                    ErrorCode::Settings,
                    format!("cannot write {}: {error}", self.unit_file.display()),
                )
            },
        )?;
        run(&["daemon-reload"])?;
        run(&["enable", "--now", UNIT])
    }

    pub fn stop(&self) -> Result<(), CommandError> {
        run(&["stop", UNIT])
    }

    pub fn restart(&self) -> Result<(), CommandError> {
        run(&["restart", UNIT])
    }

    /// Disables and stops the service and deletes its unit.
    pub fn remove(&self) -> Result<(), CommandError> {
        run(&["disable", "--now", UNIT])?;
        match std::fs::remove_file(&self.unit_file) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                return Err(CommandError::new(
                    ErrorCode::Settings,
                    format!("cannot delete {}: {error}", self.unit_file.display()),
                ))
            }
        }
        run(&["daemon-reload"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_runs_rota_serve_on_the_consoles_database_and_work_root() {
        let text = unit_text(
            Path::new("/usr/bin/rota"),
            Path::new("/home/dana/.local/share/rota/rota.sqlite"),
            Path::new("/home/dana/.local/share/rota/100% work"),
        );
        assert!(text.contains(
            "ExecStart=\"/usr/bin/rota\" serve --migrate --database \
             \"sqlite:///home/dana/.local/share/rota/rota.sqlite\" \
             --work-root \"/home/dana/.local/share/rota/100%% work\"\n"
        ));
        assert!(text.contains("Restart=on-failure"));
        assert!(text.contains("WantedBy=default.target"));
    }
}
