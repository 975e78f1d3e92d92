//! Choosing and opening the database from `--database`, `ROTA_DATABASE_URL`, or the default
//! local SQLite file in the user's data directory.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use rota::api::Rota;
use rota::clock::{Clock, SystemClock};
use rota::runtime::{DatabaseConfig, MigrationPolicy};
use rota::store::AnyStore;

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL: postgres://… for a team, sqlite://PATH for a standalone instance.
    /// Default: a SQLite file in the user's data directory.
    #[arg(long = "database", env = "ROTA_DATABASE_URL", global = true, hide_env_values = true)]
    pub url: Option<String>,
    // Kept here because every command that changes something opens the database here.
    /// Who makes the changes, recorded in the audit log (default: $ROTA_OPERATOR, else the OS
    /// user).
    #[arg(long = "operator", env = "ROTA_OPERATOR", global = true)]
    pub operator: Option<String>,
}

impl DatabaseArgs {
    pub fn url(&self) -> anyhow::Result<String> {
        match &self.url {
            Some(url) => Ok(url.clone()),
            None => {
                let path = default_sqlite_path()?;
                // Rota's own folder: created private, and tightened if an older version left
                // it open (the database beside it holds every tenant's secrets).
                if let Some(dir) = path.parent() {
                    rota::private_files::own_dir(dir)
                        .with_context(|| format!("cannot make {} private", dir.display()))?;
                }
                Ok(format!("sqlite://{}", path.display()))
            }
        }
    }

    /// Connects, requiring the schema to be current: only `rota migrate` (and `rota serve
    /// --migrate`) change it, so a command run with an older binary during a rolling upgrade
    /// never migrates under the fleet's feet. A newer schema works, with a warning.
    pub async fn open(&self) -> anyhow::Result<Rota<AnyStore>> {
        self.open_with(MigrationPolicy::RequireCurrent).await
    }

    /// Connects and applies pending migrations (`rota migrate`).
    pub async fn open_migrating(&self) -> anyhow::Result<Rota<AnyStore>> {
        self.open_with(MigrationPolicy::Apply).await
    }

    async fn open_with(&self, migration: MigrationPolicy) -> anyhow::Result<Rota<AnyStore>> {
        let url = self.url()?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let mut database = DatabaseConfig::new(url.clone());
        database.migration = migration;
        // One attempt: a command reports at once why the database does not answer.
        database.wait = std::time::Duration::ZERO;
        let store = rota::runtime::connect(&database, clock.as_ref())
            .await
            .with_context(|| format!("cannot open the database {}", redact_url(&url)))?;
        // The CLI runs where the jobs run (or is told otherwise by a failing check it can
        // answer with the shell option): a missing absolute program is refused here.
        Ok(Rota::new(store, clock).with_operator(self.operator()?).checking_programs_here())
    }

    /// The operator to record: `--operator`, `$ROTA_OPERATOR`, else the OS user.
    pub fn operator(&self) -> anyhow::Result<String> {
        if let Some(name) = &self.operator {
            if rota::audit::clean_operator(name).is_empty() {
                return Err(super::BadInput("--operator: must not be empty".to_owned()).into());
            }
        }
        Ok(rota::audit::resolve_operator(self.operator.as_deref()))
    }
}

/// `~/.local/share/rota/rota.sqlite` on Linux.
pub fn default_sqlite_path() -> anyhow::Result<PathBuf> {
    let base = dirs::data_dir().context("no user data directory; pass --database")?;
    Ok(base.join("rota").join("rota.sqlite"))
}

/// A URL fit for logs and error messages ([`rota::redact::url`]).
pub fn redact_url(url: &str) -> String {
    rota::redact::url(url)
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact_url("postgres://rota:s3cret@db:5432/rota"),
            "postgres://rota:***@db:5432/rota"
        );
        assert_eq!(
            redact_url("postgres://rota:s3@cret@db:5432/rota?sslpassword=x"),
            "postgres://rota:***@db:5432/rota?sslpassword=***"
        );
        assert_eq!(redact_url("sqlite:///tmp/x.sqlite"), "sqlite:///tmp/x.sqlite");
    }
}
