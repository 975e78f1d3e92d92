//! The console's state: which database is open (Local or Connected mode), the core API over it,
//! and the engine when this app executes jobs. Commands borrow a [`rota::api::Rota`] from here
//! and never hold the lock across a database call.

use std::sync::Arc;
use std::time::Duration;

use rota::api::Rota;
use rota::clock::Clock;
use rota::runtime::{self, CommandSettings, DatabaseConfig, Runtime, RuntimeConfig};
use rota::store::AnyStore;
use tokio::sync::RwLock;

use crate::background::{ServiceState, UserService};
use crate::error::{CommandError, ErrorCode};
use crate::settings::{
    split_password, with_password, PasswordVault, Paths, Profile, SavedMode, Settings,
};

/// How long running jobs may take to finish when the app closes or the mode changes, before
/// they are handed back to the queue.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Jobs the app executes at once.
const WORKERS: u32 = 4;
/// How long Connected mode waits for a Postgres server that does not answer yet before saying
/// why; short, because someone is looking at the screen.
const CONNECT_WAIT: Duration = Duration::from_secs(5);

/// The runtime configuration of the engine inside the app: `rota serve`'s, with fewer workers
/// and a shorter shutdown grace, and the same command isolation (the work root and this app's
/// own executable as the `__exec` wrapper, both from [`Paths`]). Tenants' notifications
/// (webhooks; no SMTP server in the app) go out from the app too. The settings file's
/// `deny_private_networks` is the app's `--deny-private-networks`.
pub fn runtime_config(
    paths: &Paths,
    database: DatabaseConfig,
) -> Result<RuntimeConfig, CommandError> {
    let node_id = format!("console-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let mut commands = CommandSettings::new(paths.work_root.clone(), paths.exec_wrapper.clone());
    // The console runs jobs as the person using it, whose own account it runs under; refusing
    // root jobs is for a root daemon (`rota serve`), and a console started as root would only
    // fail every job that names no run-as user.
    commands.allow_root_jobs = true;
    let mut config = RuntimeConfig::new(database, node_id, commands);
    config.workers = WORKERS;
    config.shutdown_grace = SHUTDOWN_GRACE;
    config.egress.deny_private_networks = Settings::load(&paths.settings)?.deny_private_networks;
    Ok(config)
}

/// Stops the engine inside the app, logging (not returning) its error: the app closes or
/// switches databases either way.
async fn stop(runtime: Runtime) {
    if let Err(error) = runtime.shutdown().await {
        tracing::error!(%error, "the engine stopped with an error");
    }
}

/// An open database.
struct Session {
    rota: Rota<AnyStore>,
    mode: SavedMode,
    /// Where the database is, for people: the file, or the URL without its password.
    location: String,
    engine: Option<Runtime>,
    /// Local mode without an engine here: who executes the file's jobs instead (the user
    /// service, or another process holding the database's engine lock).
    attached_to: Option<String>,
}

/// Who executes the open local database's jobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Executor {
    /// The engine inside this app (while its window is open).
    App,
    /// Another process holding the database's engine lock: the user service, a `rota serve`,
    /// another console. `holder` names it (`pid 1234, node ...`).
    Elsewhere { holder: String },
    /// Nobody here: Connected mode without execution, or no database open.
    Nobody,
}

/// Local mode's background state: who executes, and the user service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Background {
    pub executor: Executor,
    pub service: ServiceState,
}

#[derive(Default)]
struct State {
    session: Option<Session>,
    /// Counts opened sessions, so that followers of the change feed notice a new database.
    generation: u64,
    /// Connected mode's password for this session, when the keyring cannot keep it.
    session_password: Option<String>,
}

/// What the UI shows about the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// First start (or after "switch mode"): the user picks Local or Connected.
    Setup,
    /// Connected mode was chosen before, but this session has no (working) password for it.
    /// `problem` says why the last attempt failed, if one was made.
    PasswordRequired { url: String, problem: Option<String> },
    Open {
        mode: SavedMode,
        location: String,
        executing: bool,
        /// The saved profile this database was opened through, if any.
        environment: Option<Profile>,
    },
}

/// What a first start (no mode saved yet) does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FirstStart {
    /// Show the mode picker.
    #[default]
    Ask,
    /// Open Local mode with the demo data, as `cargo xtask app` asks (`--local-demo`).
    LocalWithDemo,
}

pub struct Console {
    paths: Paths,
    vault: PasswordVault,
    clock: Arc<dyn Clock>,
    first_start: FirstStart,
    /// Local mode's user service, where the app can manage one.
    user_service: Option<UserService>,
    /// Set by `quit_app`; the app's shell exits when it is.
    quit: tokio::sync::Notify,
    /// Set by `keep_in_tray`; the app's shell shows the tray icon and hides the window.
    tray: tokio::sync::Notify,
    state: RwLock<State>,
}

impl Console {
    pub fn new(paths: Paths, vault: PasswordVault, clock: Arc<dyn Clock>) -> Console {
        Console {
            paths,
            vault,
            clock,
            first_start: FirstStart::Ask,
            user_service: None,
            quit: tokio::sync::Notify::new(),
            tray: tokio::sync::Notify::new(),
            state: RwLock::new(State::default()),
        }
    }

    /// Lets the console install and manage Local mode's user service.
    pub fn with_user_service(mut self, service: UserService) -> Console {
        self.user_service = Some(service);
        self
    }

    pub fn with_first_start(mut self, first_start: FirstStart) -> Console {
        self.first_start = first_start;
        self
    }

    /// The console's clock (the wall clock, except in tests).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The core API over the open database.
    pub async fn rota(&self) -> Result<Rota<AnyStore>, CommandError> {
        let state = self.state.read().await;
        state
            .session
            .as_ref()
            .map(|session| session.rota.clone())
            .ok_or_else(CommandError::not_connected)
    }

    /// The core API over the open database with the session's number (it changes whenever
    /// another database is opened), or `None` without one.
    pub async fn session(&self) -> Option<(u64, Rota<AnyStore>)> {
        let state = self.state.read().await;
        state.session.as_ref().map(|session| (state.generation, session.rota.clone()))
    }

    /// Asks the app to exit (the answer to the close question).
    pub fn request_quit(&self) {
        self.quit.notify_one();
    }

    /// Returns once [`Console::request_quit`] was called.
    pub async fn quit_requested(&self) {
        self.quit.notified().await;
    }

    /// Asks the app to hide its window behind a tray icon, its engine still running.
    pub fn request_tray(&self) {
        self.tray.notify_one();
    }

    /// Returns once [`Console::request_tray`] was called (again).
    pub async fn tray_requested(&self) {
        self.tray.notified().await;
    }

    /// Whether closing the window would stop jobs: Local mode with the engine in this app.
    pub async fn executes_local_jobs(&self) -> bool {
        let state = self.state.read().await;
        state
            .session
            .as_ref()
            .is_some_and(|session| session.mode == SavedMode::Local && session.engine.is_some())
    }

    /// Tells the engine running in this app, if any, that schedules changed.
    pub async fn schedules_changed(&self) {
        let state = self.state.read().await;
        if let Some(engine) = state.session.as_ref().and_then(|session| session.engine.as_ref()) {
            engine.engine().notify_schedule_changed();
        }
    }

    pub async fn status(&self) -> Result<Status, CommandError> {
        {
            let state = self.state.read().await;
            if let Some(session) = &state.session {
                let settings = Settings::load(&self.paths.settings)?;
                return Ok(Status::Open {
                    mode: session.mode.clone(),
                    location: session.location.clone(),
                    executing: session.engine.is_some(),
                    environment: environment(&settings, &session.mode),
                });
            }
        }
        Ok(match Settings::load(&self.paths.settings)?.mode {
            None | Some(SavedMode::Local) => Status::Setup,
            Some(SavedMode::Connected { url, .. }) => {
                Status::PasswordRequired { url, problem: None }
            }
        })
    }

    /// Opens what the settings name, if it can be opened without asking anything.
    pub async fn open_saved(&self) -> Result<Status, CommandError> {
        if self.state.read().await.session.is_some() {
            return self.status().await;
        }
        match Settings::load(&self.paths.settings)?.mode {
            None if self.first_start == FirstStart::LocalWithDemo => self.open_local(true).await,
            None => Ok(Status::Setup),
            Some(SavedMode::Local) => self.open_local(false).await,
            Some(SavedMode::Connected { url, execute }) => {
                let saved = self.state.read().await.session_password.clone();
                // Without a saved password, try none: trust and peer authentication need none.
                let password = saved.or_else(|| self.vault.load(&url));
                match self.connect(&url, password.as_deref(), false, execute).await {
                    Ok(status) => Ok(status),
                    Err(error) if error.code == ErrorCode::Database => {
                        Ok(Status::PasswordRequired { url, problem: Some(error.message) })
                    }
                    Err(error) => Err(error),
                }
            }
        }
    }

    /// Local mode: opens (creating and migrating) the SQLite file, seeds the demo data into an
    /// empty database when asked, and starts the engine.
    pub async fn open_local(&self, demo: bool) -> Result<Status, CommandError> {
        let path = &self.paths.local_database;
        // The console's own data folder (the CLI's default one too): private, since the
        // database in it holds every tenant's secrets; the store makes the file private.
        if let Some(dir) = path.parent() {
            rota::private_files::own_dir(dir).map_err(|error| {
                CommandError::new(
                    ErrorCode::Settings,
                    format!("cannot make {} private: {error}", dir.display()),
                )
            })?;
        }
        let mut database = DatabaseConfig::new(format!("sqlite://{}", path.display()));
        // The console's own file: it keeps it migrated, as nothing else would.
        database.migration = runtime::MigrationPolicy::Apply;
        let store = runtime::connect(&database, self.clock.as_ref()).await?;
        let rota = self.new_rota(store.clone())?;
        if demo {
            rota::demo::seed_if_empty(&rota).await?;
        }
        // This app runs Local mode's jobs, so a program must exist here (Connected mode's
        // servers may have programs this workstation lacks; spaces are refused in both).
        let rota = rota.checking_programs_here();
        let (engine, attached_to) = self.start_local_engine(&store)?;
        let session = Session {
            rota,
            mode: SavedMode::Local,
            location: path.display().to_string(),
            engine,
            attached_to,
        };
        self.replace_session(Some(session), None).await;
        self.save_mode(Some(SavedMode::Local))?;
        self.status().await
    }

    /// Starts the engine on the local database, unless another process (the user service, a
    /// `rota serve`) executes its jobs already: then this app attaches as its client, and the
    /// second value names that process. The core's engine lock decides, so two engines never
    /// run on one file even when both start at the same moment.
    fn start_local_engine(
        &self,
        store: &AnyStore,
    ) -> Result<(Option<Runtime>, Option<String>), CommandError> {
        let url = format!("sqlite://{}", self.paths.local_database.display());
        if let Some(holder) = runtime::engine_elsewhere(&url) {
            tracing::info!(%holder, "another engine executes the local database's jobs; attaching");
            return Ok((None, Some(holder.description)));
        }
        let config = runtime_config(&self.paths, DatabaseConfig::new(url))?;
        match Runtime::start(store.clone(), config, self.clock.clone()) {
            Ok(engine) => Ok((Some(engine), None)),
            Err(runtime::RuntimeError::EngineRunning { holder, .. }) => {
                Ok((None, Some(holder.description)))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Who executes the open database's jobs, and the state of Local mode's user service.
    /// In Local mode, when the process this app attached to has gone (the service was stopped
    /// or removed outside the app), the app starts its own engine again, so that the jobs run
    /// while the window is open.
    pub async fn background(&self) -> Result<Background, CommandError> {
        let service = match &self.user_service {
            Some(service) => service.state(),
            None => ServiceState::Unavailable {
                reason: "this console cannot manage a user service".into(),
            },
        };
        let mut state = self.state.write().await;
        let Some(session) = state.session.as_mut() else {
            return Ok(Background { executor: Executor::Nobody, service });
        };
        // While the service is (re)starting it has not taken the lock yet: leave it to it.
        let service_starting = matches!(
            &service,
            ServiceState::Installed { active, .. } if active == "active" || active == "activating"
        );
        if session.mode == SavedMode::Local && session.engine.is_none() && !service_starting {
            let (engine, attached_to) = self.start_local_engine(session.rota.store())?;
            session.engine = engine;
            session.attached_to = attached_to;
        }
        let executor = match (&session.engine, &session.attached_to) {
            (Some(_), _) => Executor::App,
            (None, Some(holder)) => Executor::Elsewhere { holder: holder.clone() },
            (None, None) => Executor::Nobody,
        };
        Ok(Background { executor, service })
    }

    fn service(&self) -> Result<&UserService, CommandError> {
        self.user_service.as_ref().ok_or_else(|| {
            CommandError::new(ErrorCode::Settings, "this console cannot manage a user service")
        })
    }

    /// "Keep running when the window is closed and start at login": stops this app's engine,
    /// installs and starts the user service on the same file, and attaches to it. If the
    /// service does not take over, the app's engine starts again and the error says why.
    pub async fn run_in_background(&self) -> Result<Background, CommandError> {
        let service = self.service()?;
        let url = format!("sqlite://{}", self.paths.local_database.display());
        {
            let mut state = self.state.write().await;
            let session = state.session.as_mut().ok_or_else(CommandError::not_connected)?;
            if session.mode != SavedMode::Local {
                return Err(CommandError::invalid(
                    "mode",
                    "only Local mode's database runs as a user service",
                ));
            }
            if let Some(engine) = session.engine.take() {
                stop(engine).await;
            }
            let installed = service.install();
            let holder = match installed {
                Ok(()) => self.wait_for_engine_elsewhere(&url).await,
                Err(_) => None,
            };
            match (installed, holder) {
                (Ok(()), Some(holder)) => session.attached_to = Some(holder),
                (result, _) => {
                    let (engine, attached_to) = self.start_local_engine(session.rota.store())?;
                    session.engine = engine;
                    session.attached_to = attached_to;
                    result?;
                    return Err(CommandError::new(
                        ErrorCode::Settings,
                        format!(
                            "the user service did not start executing the jobs: {:?}; see                              journalctl --user -u rota",
                            service.state()
                        ),
                    ));
                }
            }
        }
        self.background().await
    }

    /// Waits (up to 15 s) until another process holds the local database's engine lock.
    async fn wait_for_engine_elsewhere(&self, url: &str) -> Option<String> {
        for _ in 0..150 {
            if let Some(holder) = runtime::engine_elsewhere(url) {
                return Some(holder.description);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        None
    }

    /// Stops the user service (it starts again at the next login); the app executes the jobs
    /// while its window is open.
    pub async fn stop_service(&self) -> Result<Background, CommandError> {
        self.service()?.stop()?;
        self.background().await
    }

    pub async fn restart_service(&self) -> Result<Background, CommandError> {
        self.service()?.restart()?;
        self.background().await
    }

    /// Disables the user service and deletes its unit; the app executes the jobs while its
    /// window is open.
    pub async fn remove_service(&self) -> Result<Background, CommandError> {
        self.service()?.remove()?;
        self.background().await
    }

    /// Connected mode: connects to the Postgres URL (its password, if any, moves to the keyring
    /// or to this session's memory), requires its schema to be current (the team applies
    /// migrations with `rota migrate`; a newer schema is fine), and runs the engine only when
    /// `execute` is set.
    pub async fn connect(
        &self,
        url: &str,
        password: Option<&str>,
        remember: bool,
        execute: bool,
    ) -> Result<Status, CommandError> {
        let (url, url_password) = split_password(url)?;
        let password =
            password.filter(|password| !password.is_empty()).map(str::to_owned).or(url_password);
        let full_url = with_password(&url, password.as_deref())?;
        let mut database = DatabaseConfig::new(full_url);
        database.wait = CONNECT_WAIT;
        let store = runtime::connect(&database, self.clock.as_ref()).await.map_err(|error| {
            let migrate = matches!(error, runtime::RuntimeError::Migrate(_));
            let mut converted = CommandError::from(error);
            // Everything but a migration failed on the URL (or what it leads to).
            if !migrate {
                converted.field = Some("url".into());
            }
            converted
        })?;
        let rota = self.new_rota(store.clone())?;
        let engine = if execute {
            let config = runtime_config(&self.paths, database)?;
            Some(Runtime::start(store, config, self.clock.clone())?)
        } else {
            None
        };
        let session = Session {
            rota,
            mode: SavedMode::Connected { url: url.clone(), execute },
            location: url.clone(),
            engine,
            attached_to: None,
        };
        if let Some(password) = &password {
            if remember {
                self.vault.save(&url, password);
            }
        }
        self.replace_session(Some(session), password).await;
        self.save_mode(Some(SavedMode::Connected { url, execute }))?;
        self.status().await
    }

    /// Turns executing jobs in this app on or off (Connected mode; Local mode always executes).
    pub async fn set_execution(&self, execute: bool) -> Result<Status, CommandError> {
        let mut state = self.state.write().await;
        let session = state.session.as_mut().ok_or_else(CommandError::not_connected)?;
        let SavedMode::Connected { url, .. } = &session.mode else {
            return Err(CommandError::invalid(
                "execute",
                "in Local mode the app always executes its jobs while it is open",
            ));
        };
        let url = url.clone();
        match (execute, session.engine.take()) {
            (true, None) => {
                // The store is open already; the URL is only for the configuration's sake.
                let config = runtime_config(&self.paths, DatabaseConfig::new(url.clone()))?;
                let store = session.rota.store().clone();
                session.engine = Some(Runtime::start(store, config, self.clock.clone())?);
            }
            (false, Some(engine)) => stop(engine).await,
            (_, engine) => session.engine = engine,
        }
        session.mode = SavedMode::Connected { url: url.clone(), execute };
        drop(state);
        self.save_mode(Some(SavedMode::Connected { url, execute }))?;
        self.status().await
    }

    /// Closes the database and forgets the choice (and a saved password), back to Setup.
    pub async fn forget(&self) -> Result<Status, CommandError> {
        if let Some(SavedMode::Connected { url, .. }) = Settings::load(&self.paths.settings)?.mode {
            self.vault.forget(&url);
        }
        self.replace_session(None, None).await;
        self.save_mode(None)?;
        self.status().await
    }

    /// The saved profiles, and the name of the one the open database belongs to.
    pub async fn profiles(&self) -> Result<(Vec<Profile>, Option<String>), CommandError> {
        let settings = Settings::load(&self.paths.settings)?;
        let state = self.state.read().await;
        let active = state
            .session
            .as_ref()
            .and_then(|session| environment(&settings, &session.mode))
            .map(|profile| profile.name);
        Ok((settings.profiles, active))
    }

    /// Adds a profile, or replaces the one of the same name. A password (given, or in the URL)
    /// goes to the keyring under the URL without it; the settings never hold it.
    pub fn save_profile(
        &self,
        profile: Profile,
        password: Option<&str>,
    ) -> Result<(), CommandError> {
        let (profile, url_password) = profile.validated()?;
        let password = password.filter(|password| !password.is_empty()).map(str::to_owned);
        if let Some(password) = password.or(url_password) {
            self.vault.save(&profile.url, &password);
        }
        let mut settings = Settings::load(&self.paths.settings)?;
        match settings.profiles.iter_mut().find(|saved| saved.name == profile.name) {
            Some(saved) => *saved = profile,
            None => settings.profiles.push(profile),
        }
        settings.save(&self.paths.settings)
    }

    /// Forgets a profile, and its saved password unless another profile or the saved mode
    /// uses the same URL.
    pub fn delete_profile(&self, name: &str) -> Result<(), CommandError> {
        let mut settings = Settings::load(&self.paths.settings)?;
        let Some(index) = settings.profiles.iter().position(|profile| profile.name == name) else {
            return Err(profile_not_found(name));
        };
        let removed = settings.profiles.remove(index);
        let still_used = settings.profiles.iter().any(|profile| profile.url == removed.url)
            || matches!(&settings.mode, Some(SavedMode::Connected { url, .. }) if *url == removed.url);
        if !still_used {
            self.vault.forget(&removed.url);
        }
        if settings.active_profile.as_deref() == Some(name) {
            settings.active_profile = None;
        }
        settings.save(&self.paths.settings)
    }

    /// Connects through a saved profile, as a console (this app does not execute its jobs),
    /// with the password the keyring keeps for its URL. Without a working one, the previous
    /// database is closed and the status asks for the password, as a saved Connected mode
    /// does; connecting with it then opens the profile's environment.
    pub async fn open_profile(&self, name: &str) -> Result<Status, CommandError> {
        let mut settings = Settings::load(&self.paths.settings)?;
        let profile = settings
            .profiles
            .iter()
            .find(|profile| profile.name == name)
            .cloned()
            .ok_or_else(|| profile_not_found(name))?;
        settings.active_profile = Some(profile.name.clone());
        settings.save(&self.paths.settings)?;
        let password = self.vault.load(&profile.url);
        match self.connect(&profile.url, password.as_deref(), false, false).await {
            Ok(status) => Ok(status),
            Err(error) if error.code == ErrorCode::Database => {
                self.replace_session(None, None).await;
                self.save_mode(Some(SavedMode::Connected {
                    url: profile.url.clone(),
                    execute: false,
                }))?;
                Ok(Status::PasswordRequired { url: profile.url, problem: Some(error.message) })
            }
            Err(error) => Err(error),
        }
    }

    /// The core API over `store`, recording changes under the operator name of the settings.
    fn new_rota(&self, store: AnyStore) -> Result<Rota<AnyStore>, CommandError> {
        let operator = Settings::load(&self.paths.settings)?.operator;
        Ok(Rota::new(store, self.clock.clone())
            .with_operator(rota::audit::resolve_operator(operator.as_deref())))
    }

    /// Saves the mode, keeping the other settings.
    fn save_mode(&self, mode: Option<SavedMode>) -> Result<(), CommandError> {
        let mut settings = Settings::load(&self.paths.settings)?;
        settings.mode = mode;
        settings.save(&self.paths.settings)
    }

    /// Who the console's changes are recorded as made by: the saved setting, else
    /// `$ROTA_OPERATOR`, else the OS user.
    pub fn operator(&self) -> Result<String, CommandError> {
        let operator = Settings::load(&self.paths.settings)?.operator;
        Ok(rota::audit::resolve_operator(operator.as_deref()))
    }

    /// Saves the operator name (`None` or blank: back to the OS user) and records the open
    /// session's changes under it from now on. The core checks the name.
    pub async fn set_operator(&self, name: Option<&str>) -> Result<String, CommandError> {
        let name = name.filter(|name| !name.is_empty());
        if let Some(name) = name {
            rota::api::validate_operator(name)?;
        }
        let mut settings = Settings::load(&self.paths.settings)?;
        settings.operator = name.map(str::to_owned);
        settings.save(&self.paths.settings)?;
        let operator = rota::audit::resolve_operator(name);
        let mut state = self.state.write().await;
        if let Some(session) = state.session.as_mut() {
            session.rota = session.rota.clone().with_operator(&operator);
        }
        Ok(operator)
    }

    /// Stops the engine (letting running jobs finish within the grace) and closes the database.
    pub async fn shutdown(&self) {
        self.replace_session(None, None).await;
    }

    async fn replace_session(&self, session: Option<Session>, password: Option<String>) {
        let previous = {
            let mut state = self.state.write().await;
            state.session_password = password;
            state.generation += 1;
            std::mem::replace(&mut state.session, session)
        };
        if let Some(previous) = previous {
            if let Some(engine) = previous.engine {
                stop(engine).await;
            }
            previous.rota.store().close().await;
        }
    }
}

/// The active profile: the one last opened, while the open database is its URL (connecting
/// elsewhere by hand leaves every environment).
fn environment(settings: &Settings, mode: &SavedMode) -> Option<Profile> {
    let SavedMode::Connected { url, .. } = mode else { return None };
    let name = settings.active_profile.as_deref()?;
    settings.profiles.iter().find(|profile| profile.name == name && profile.url == *url).cloned()
}

fn profile_not_found(name: &str) -> CommandError {
    CommandError::new(ErrorCode::NotFound, format!("profile {name:?} does not exist"))
}
