//! The runtime: everything a scheduler process starts, wired in one place.
//!
//! `rota serve`, the console's Local mode and the console's Connected mode (with execution on)
//! all describe what they want as one [`RuntimeConfig`] and call [`Runtime::open`] (or
//! [`connect`] and then [`Runtime::start`], when the console shows the database before it
//! executes anything). The runtime connects to the database named by the URL, waiting for it
//! when it does not answer yet ([`DatabaseConfig::wait`]), applies the [`MigrationPolicy`], and
//! starts the [`Engine`] and the [`Notifier`] with the command isolation of
//! [`CommandSettings`]. The returned [`Runtime`] gives access to the engine (metrics, health,
//! "schedules changed") and the store, and stops both workers with one call.
//!
//! Architecture invariant: only this module constructs the engine and the notifier for a front
//! end; `src/cli` and `src-tauri` never do. So the CLI and the desktop cannot drift apart in how
//! they run jobs (the console once ran commands without a work root or the `__exec` wrapper).

pub mod engine_lock;
mod probe;
mod wait;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::clock::Clock;
use crate::engine::retention::RetentionPolicy;
use crate::engine::{Engine, EngineConfig};
use crate::error::{Error, ErrorCode};
use crate::handler::CommandPolicy;
use crate::handler::EgressPolicy;
use crate::notify::{Notifier, NotifyConfig, SmtpConfig};
use crate::store::{AnyStore, SchemaStore};

/// What to do about the schema when the runtime opens a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum MigrationPolicy {
    /// Apply every pending migration before starting (`rota migrate`, `rota serve --migrate`,
    /// and the console's Local mode on its own SQLite file).
    Apply,
    /// Change nothing: refuse a schema older than this binary (telling the user to run `rota
    /// migrate`) and accept a newer one with a warning, so that in a rolling upgrade the first
    /// node migrated does not stop the others (what every other command does).
    #[default]
    RequireCurrent,
}

/// Which database to open and how.
#[derive(Clone)]
pub struct DatabaseConfig {
    /// `postgres://...`, `postgresql://...` or `sqlite:...` (see [`AnyStore::connect`]). May hold
    /// a password; it never reaches `Debug` or an error message.
    pub url: String,
    pub migration: MigrationPolicy,
    /// How long to wait for a Postgres server that does not answer yet (down, starting, the
    /// database not created yet), trying again with exponential backoff. Zero: one attempt.
    /// Failures that waiting cannot heal (a bad URL, a refused login) end the wait at once.
    pub wait: Duration,
}

impl DatabaseConfig {
    /// A URL, the schema required to be current (no migration), and the default wait of
    /// [`DEFAULT_DATABASE_WAIT`].
    pub fn new(url: impl Into<String>) -> DatabaseConfig {
        DatabaseConfig {
            url: url.into(),
            migration: MigrationPolicy::RequireCurrent,
            wait: DEFAULT_DATABASE_WAIT,
        }
    }
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Only the scheme: the rest of the URL may hold a password.
        let scheme = self.url.split_once(':').map_or("(none)", |(scheme, _)| scheme);
        f.debug_struct("DatabaseConfig")
            .field("url", &format_args!("{scheme}:<redacted>"))
            .field("migration", &self.migration)
            .field("wait", &self.wait)
            .finish()
    }
}

/// How long `rota serve` waits for the database at start-up unless told otherwise.
pub const DEFAULT_DATABASE_WAIT: Duration = Duration::from_secs(60);

/// How command handlers are isolated. Both front ends fill it the same way: the work root
/// defaults to [`default_work_root`], and the wrapper is the front end's own executable, which
/// handles `__exec` through [`crate::handler::isolation::exec_main_if_requested`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandSettings {
    /// Tenants' working directories are `<work_root>/<tenant>` unless the job or the tenant
    /// names one.
    pub work_root: PathBuf,
    /// The executable that applies resource limits and the run-as user before starting a
    /// command (`<exec_wrapper> __exec ...`).
    pub exec_wrapper: PathBuf,
    /// Variables passed through from the process's environment besides
    /// [`crate::handler::isolation::DEFAULT_ENV_ALLOW`]. Loader variables (`LD_*`, ...) are
    /// refused by [`RuntimeConfig::validate`].
    pub extra_env_allow: Vec<String>,
    /// Run commands as root when the process is root and neither the job nor its tenant names
    /// a run-as user (`rota serve --allow-root-jobs`). Off by default: such a run fails with an
    /// error naming the fix. A process that is not root is unaffected.
    pub allow_root_jobs: bool,
}

impl CommandSettings {
    pub fn new(work_root: impl Into<PathBuf>, exec_wrapper: impl Into<PathBuf>) -> Self {
        CommandSettings {
            work_root: work_root.into(),
            exec_wrapper: exec_wrapper.into(),
            extra_env_allow: Vec::new(),
            allow_root_jobs: false,
        }
    }

    /// The executor's policy: the default allow-list plus the extra names, the work root and
    /// the wrapper.
    pub fn policy(&self) -> CommandPolicy {
        let defaults = CommandPolicy::default();
        let mut env_allow = defaults.env_allow.clone();
        env_allow.extend(self.extra_env_allow.iter().cloned());
        CommandPolicy {
            env_allow,
            work_root: Some(self.work_root.clone()),
            exec_wrapper: Some(self.exec_wrapper.clone()),
            allow_root_jobs: self.allow_root_jobs,
            ..defaults
        }
    }
}

/// `work` in the user's data directory (`~/.local/share/rota/work` on Linux), the work root of
/// `rota serve` without `--work-root` and of the console; `None` without a data directory.
pub fn default_work_root() -> Option<PathBuf> {
    Some(dirs::data_dir()?.join("rota").join("work"))
}

/// Everything a scheduler process needs to run, in one value.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    pub database: DatabaseConfig,
    /// Unique per process; it owns leases and notification claims.
    pub node_id: String,
    /// Runs executed at once (1-10,000).
    pub workers: u32,
    /// How long a claimed run stays this node's without renewal (1 s to 1 h); a crashed node's
    /// runs are recovered after it.
    pub lease_ttl: Duration,
    /// How long before a run's instant it may be claimed (at most 1 s); see
    /// [`EngineConfig::claim_ahead`].
    pub claim_ahead: Duration,
    /// On shutdown, how long running work may take to finish before it is handed back.
    pub shutdown_grace: Duration,
    pub commands: CommandSettings,
    /// The SMTP server for notification emails; without one, emails fail (and are retried)
    /// with a message saying so.
    pub smtp: Option<SmtpConfig>,
    /// What the node deletes once it is past its age (by default runs and notifications after
    /// 90 days, each job's last 100 runs kept).
    pub retention: RetentionPolicy,
    /// Where HTTP handlers and webhooks may connect: with `deny_private_networks`, never to
    /// loopback, link-local (cloud metadata), private or unique-local addresses.
    pub egress: EgressPolicy,
}

/// Allowed ranges, checked by [`RuntimeConfig::validate`].
const MAX_WORKERS: u32 = 10_000;
const MAX_LEASE_TTL: Duration = Duration::from_secs(3600);
const MAX_CLAIM_AHEAD: Duration = Duration::from_millis(1000);

impl RuntimeConfig {
    /// The defaults of `rota serve`: 8 workers, a 30 s lease, 50 ms claim-ahead, a 30 s
    /// shutdown grace, no SMTP server.
    pub fn new(
        database: DatabaseConfig,
        node_id: impl Into<String>,
        commands: CommandSettings,
    ) -> RuntimeConfig {
        let engine = EngineConfig::new(node_id);
        RuntimeConfig {
            database,
            workers: engine.workers,
            lease_ttl: engine.lease_ttl,
            claim_ahead: engine.claim_ahead,
            shutdown_grace: engine.shutdown_grace,
            node_id: engine.node_id,
            commands,
            smtp: None,
            retention: engine.retention,
            egress: EgressPolicy::default(),
        }
    }

    /// Checks each setting against its allowed range; the error names the field (`workers`,
    /// `lease_ttl` in seconds, `claim_ahead` in milliseconds) and says what is allowed.
    pub fn validate(&self) -> Result<(), Error> {
        if self.workers == 0 || self.workers > MAX_WORKERS {
            return Err(Error::invalid(
                "workers",
                self.workers,
                format!("out of range; allowed 1-{MAX_WORKERS}"),
            ));
        }
        if self.lease_ttl < Duration::from_secs(1) || self.lease_ttl > MAX_LEASE_TTL {
            return Err(Error::invalid(
                "lease_ttl",
                self.lease_ttl.as_secs(),
                format!("out of range; allowed 1-{} seconds", MAX_LEASE_TTL.as_secs()),
            ));
        }
        if self.claim_ahead > MAX_CLAIM_AHEAD {
            return Err(Error::invalid(
                "claim_ahead",
                self.claim_ahead.as_millis(),
                format!("out of range; allowed 0-{} milliseconds", MAX_CLAIM_AHEAD.as_millis()),
            ));
        }
        if let Some(smtp) = &self.smtp {
            smtp.validate()?;
        }
        let loader = self.commands.extra_env_allow.iter();
        if let Some(name) =
            loader.into_iter().find(|name| crate::handler::spec::is_loader_variable(name))
        {
            return Err(Error::invalid(
                "env_allow",
                name,
                "a loader variable (LD_* and glibc's other unsafe variables), never passed to \
                 commands",
            ));
        }
        if let Some(problem) = crate::handler::isolation::work_dir_problem(&self.commands.work_root)
        {
            return Err(Error::invalid("work_root", self.commands.work_root.display(), problem));
        }
        self.retention.validate()?;
        Ok(())
    }

    fn engine_config(&self) -> EngineConfig {
        let mut config = EngineConfig::new(self.node_id.clone());
        config.workers = self.workers;
        config.lease_ttl = self.lease_ttl;
        config.claim_ahead = self.claim_ahead;
        config.shutdown_grace = self.shutdown_grace;
        config.command_policy = self.commands.policy();
        config.retention = self.retention;
        config.egress = self.egress;
        config
    }

    fn notify_config(&self) -> NotifyConfig {
        let mut config = NotifyConfig::new(self.node_id.clone());
        config.smtp = self.smtp.clone();
        config.egress = self.egress;
        config
    }
}

/// Why the runtime could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The database did not answer within [`DatabaseConfig::wait`]; `cause` is what the last
    /// attempt met (`connection refused`, `database "x" does not exist`, ...).
    #[error(
        "the database did not answer within {waited:?} ({attempts} attempts); last error: {cause}"
    )]
    DatabaseUnavailable { waited: Duration, attempts: u32, cause: String },
    /// The database answered, but its schema could not be brought up to date.
    #[error("cannot migrate the database: {0}")]
    Migrate(Error),
    /// Everything else: a bad URL or setting, a refused login, the engine.
    #[error(transparent)]
    Core(#[from] Error),
    /// Another engine executes this SQLite file's jobs (the user service, `rota serve`, a
    /// console); one engine per local database, so this one does not start.
    #[error(
        "another engine already executes the jobs of {database}: {holder}; stop it first, or \
         use the database without executing (the console attaches to it as a client)"
    )]
    EngineRunning { database: String, holder: engine_lock::EngineHolder },
}

impl RuntimeError {
    pub fn code(&self) -> ErrorCode {
        match self {
            RuntimeError::DatabaseUnavailable { .. } | RuntimeError::EngineRunning { .. } => {
                ErrorCode::Database
            }
            RuntimeError::Migrate(error) | RuntimeError::Core(error) => error.code(),
        }
    }
}

/// Opens the database `config` names: waits for a Postgres server that does not answer yet (up
/// to [`DatabaseConfig::wait`], logging the cause of each failed attempt), connects, and applies
/// the migration policy. The clock measures the wait.
pub async fn connect(config: &DatabaseConfig, clock: &dyn Clock) -> Result<AnyStore, RuntimeError> {
    if probe::is_postgres(&config.url) {
        // A single connection answers with the real cause at once; the store's pool would
        // retry silently until its acquire timeout and then report only that it timed out.
        wait::retry_until(clock, config.wait, |limit| probe::postgres(&config.url, limit)).await?;
    }
    let store = AnyStore::connect(&config.url).await?;
    match config.migration {
        MigrationPolicy::Apply => store.migrate().await.map_err(RuntimeError::Migrate)?,
        MigrationPolicy::RequireCurrent => {
            let status = store.schema_status().await?;
            status.check()?;
            if status.is_newer() {
                tracing::warn!(
                    database_version = status.database_version,
                    binary_version = status.binary_version,
                    "the database was migrated by a newer rota; this one keeps working \
                     (migrations are additive), but upgrade it soon"
                );
            }
        }
    }
    Ok(store)
}

/// The SQLite file `url` names, if it is a local database file (not Postgres, not in memory).
pub fn local_database_file(url: &str) -> Option<PathBuf> {
    if !url.starts_with("sqlite:") {
        return None;
    }
    crate::store::sqlite::database_file(url)
}

/// Who executes the jobs of the database at `url` besides this process, when it is a SQLite
/// file whose engine lock another process holds (see [`engine_lock`]); `None` otherwise.
pub fn engine_elsewhere(url: &str) -> Option<engine_lock::EngineHolder> {
    let file = local_database_file(url)?;
    engine_lock::holder(&file).ok().flatten()
}

/// Takes the engine lock of a SQLite database before an engine starts on it.
fn lock_local_database(
    config: &RuntimeConfig,
) -> Result<Option<engine_lock::EngineLock>, RuntimeError> {
    let Some(file) = local_database_file(&config.database.url) else { return Ok(None) };
    let description = format!("pid {}, node {}", std::process::id(), config.node_id);
    match engine_lock::acquire(&file, &description) {
        Ok(Ok(lock)) => Ok(Some(lock)),
        Ok(Err(holder)) => {
            Err(RuntimeError::EngineRunning { database: file.display().to_string(), holder })
        }
        Err(error) => Err(RuntimeError::Core(Error::invalid(
            "database url",
            engine_lock::lock_path(&file).display(),
            format!("cannot open the engine lock beside the database: {error}"),
        ))),
    }
}

/// A running engine and notification worker. Dropping the handle leaves them running; call
/// [`Runtime::shutdown`] (or cancel [`Runtime::stop_token`] and await [`Runtime::stopped`]).
pub struct Runtime {
    engine: Engine<AnyStore>,
    stop: CancellationToken,
    task: JoinHandle<Result<(), Error>>,
}

impl Runtime {
    /// Connects ([`connect`]) and starts ([`Runtime::start`]).
    pub async fn open(
        config: RuntimeConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Runtime, RuntimeError> {
        // Bad settings are reported before waiting for a database.
        config.validate()?;
        let store = connect(&config.database, clock.as_ref()).await?;
        Runtime::start(store, config, clock)
    }

    /// Starts the engine and the notification worker on a store that is already open (the
    /// console turns execution on for a database it shows). `config.database.url` names the
    /// database: on a SQLite file, the engine holds its lock ([`engine_lock`]) while it runs,
    /// and fails with [`RuntimeError::EngineRunning`] when another engine holds it.
    pub fn start(
        store: AnyStore,
        config: RuntimeConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Runtime, RuntimeError> {
        config.validate()?;
        let lock = lock_local_database(&config)?;
        let notifier = Notifier::new(store.clone(), Arc::clone(&clock), config.notify_config())?;
        let engine = Engine::new(store, clock, config.engine_config());
        // One health for the node: the notifier's loop and database calls count in it too.
        let notifier = notifier.with_health(engine.health().clone());
        info!(
            node = %config.node_id,
            database = ?config.database,
            smtp = ?config.smtp,
            deny_private_networks = config.egress.deny_private_networks,
            work_root = %config.commands.work_root.display(),
            "runtime starting"
        );
        let stop = CancellationToken::new();
        let workers = run_workers(engine.clone(), notifier, stop.clone());
        let task = tokio::spawn(async move {
            let result = workers.await;
            // Released once the engine has stopped: its last results are recorded.
            drop(lock);
            result
        });
        Ok(Runtime { engine, stop, task })
    }

    /// The engine, for metrics, health and telling it that schedules changed.
    pub fn engine(&self) -> &Engine<AnyStore> {
        &self.engine
    }

    pub fn store(&self) -> &AnyStore {
        self.engine.store()
    }

    /// Cancelling this token starts a graceful shutdown (a signal handler holds it).
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }

    /// Waits until both workers have stopped: after the stop token was cancelled, running work
    /// finished (or was handed back after the shutdown grace) and the node was marked stopped;
    /// or after the engine failed. Returns the engine's error, if it had one.
    pub async fn stopped(self) -> Result<(), RuntimeError> {
        match self.task.await {
            Ok(result) => Ok(result?),
            Err(join_error) if join_error.is_panic() => {
                std::panic::resume_unwind(join_error.into_panic())
            }
            // The task is never aborted; a runtime shutting down drops it.
            Err(_) => Ok(()),
        }
    }

    /// Stops gracefully and waits for it (see [`Runtime::stopped`]).
    pub async fn shutdown(self) -> Result<(), RuntimeError> {
        self.stop.cancel();
        self.stopped().await
    }
}

/// Runs the engine and the notifier until `stop` is cancelled or the engine ends; the notifier
/// stops with the engine.
async fn run_workers(
    engine: Engine<AnyStore>,
    notifier: Notifier<AnyStore>,
    stop: CancellationToken,
) -> Result<(), Error> {
    let notifications = tokio::spawn({
        let stop = stop.clone();
        async move { notifier.run(stop).await }
    });
    let result = engine.run(stop.clone()).await;
    stop.cancel();
    match notifications.await {
        Ok(Err(error)) => warn!(%error, "the notification worker stopped with an error"),
        Err(join_error) if join_error.is_panic() => {
            std::panic::resume_unwind(join_error.into_panic())
        }
        _ => {}
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RuntimeConfig {
        RuntimeConfig::new(
            DatabaseConfig::new("postgres://rota:s3cret@db/rota"),
            "node-1",
            CommandSettings::new("/srv/rota/work", "/usr/bin/rota"),
        )
    }

    #[test]
    fn the_command_policy_has_the_work_root_the_wrapper_and_the_allow_list() {
        let mut settings = CommandSettings::new("/srv/rota/work", "/usr/bin/rota");
        settings.extra_env_allow.push("HTTPS_PROXY".into());
        let policy = settings.policy();
        assert_eq!(policy.work_root, Some(PathBuf::from("/srv/rota/work")));
        assert_eq!(policy.exec_wrapper, Some(PathBuf::from("/usr/bin/rota")));
        for name in crate::handler::isolation::DEFAULT_ENV_ALLOW {
            assert!(policy.env_allow.iter().any(|allowed| allowed == name), "{name}");
        }
        assert_eq!(policy.env_allow.last().map(String::as_str), Some("HTTPS_PROXY"));
        let engine = config().engine_config();
        assert_eq!(engine.command_policy.work_root, Some(PathBuf::from("/srv/rota/work")));
        assert_eq!(engine.command_policy.exec_wrapper, Some(PathBuf::from("/usr/bin/rota")));
    }

    #[test]
    fn settings_out_of_range_name_their_field_and_the_range() {
        assert!(config().validate().is_ok());
        type Case = (fn(&mut RuntimeConfig), &'static str, &'static str);
        let cases: [Case; 5] = [
            (|c| c.workers = 0, "workers", "allowed 1-10000"),
            (|c| c.workers = 10_001, "workers", "allowed 1-10000"),
            (|c| c.lease_ttl = Duration::ZERO, "lease_ttl", "allowed 1-3600 seconds"),
            (|c| c.lease_ttl = Duration::from_secs(3601), "lease_ttl", "allowed 1-3600 seconds"),
            (|c| c.claim_ahead = Duration::from_millis(1001), "claim_ahead", "0-1000 milliseconds"),
        ];
        for (change, expected_field, expected_reason) in cases {
            let mut config = config();
            change(&mut config);
            match config.validate() {
                Err(Error::Invalid { field, reason, .. }) => {
                    assert_eq!(field, expected_field);
                    assert!(reason.contains(expected_reason), "{reason}");
                }
                other => panic!("{expected_field}: {other:?}"),
            }
        }
    }

    #[test]
    fn the_database_url_never_shows_in_debug() {
        let text = format!("{:?}", config());
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("postgres:<redacted>"), "{text}");
    }
}
