//! `rota serve`: the daemon, and `/metrics` + `/healthz` for Prometheus.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::{routing::get, Router};
use clap::Args;
use rota::clock::{Clock, SystemClock};
use rota::engine::Engine;
use rota::runtime::{self, CommandSettings, DatabaseConfig, Runtime, RuntimeConfig, RuntimeError};
use rota::store::Store;
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::db::{redact_url, DatabaseArgs};

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  rota serve --database postgres://rota@db/rota --workers 16 --metrics 127.0.0.1:9464"
)]
pub struct ServeArgs {
    /// Unique id of this scheduler process (default: host name and process id).
    #[arg(long)]
    node_id: Option<String>,
    /// Runs executed at once by this process.
    #[arg(long, default_value_t = 8)]
    workers: u32,
    /// Seconds a claimed run stays ours without renewal; a crashed node's runs are recovered after it.
    #[arg(long, default_value_t = 30)]
    lease_ttl: u64,
    /// Milliseconds before a run's instant it may be claimed; it then waits in its worker slot
    /// and starts on the instant, so the claim's own time does not make it late (0: claim only
    /// what is ready).
    #[arg(long, value_name = "MS", default_value_t = 50)]
    claim_ahead: u64,
    /// Seconds running work may take to finish on SIGINT/SIGTERM before it is handed back.
    #[arg(long, default_value_t = 30)]
    shutdown_grace: u64,
    /// Seconds to wait at start-up for a Postgres server that does not answer yet (down,
    /// starting, the database not created yet), trying again with backoff and logging why each
    /// attempt failed; a bad URL or a refused login ends the wait at once (0: one attempt).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    wait_for_database: u64,
    /// Apply pending migrations before starting (otherwise a schema older than this binary is
    /// refused, and `rota migrate` applies them; a newer one is accepted with a warning).
    #[arg(long)]
    migrate: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics and a health check at /healthz.
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Command handlers of tenant T run in DIR/T unless the job or tenant sets a directory
    /// (default: `work` in Rota's data directory, such as ~/.local/share/rota/work).
    #[arg(long, value_name = "DIR")]
    work_root: Option<std::path::PathBuf>,
    /// Also pass this variable from the daemon's environment to commands (repeatable; PATH,
    /// HOME, LANG, LC_ALL, TZ, TMPDIR, USER and LOGNAME always are).
    #[arg(long = "env-allow", value_name = "NAME")]
    env_allow: Vec<String>,
    /// Run command jobs as root when this daemon runs as root and neither the job nor its
    /// tenant names a run-as user (without it such runs fail, saying how to fix them).
    #[arg(long)]
    allow_root_jobs: bool,
    /// Refuse HTTP handler and webhook targets that are or resolve to loopback, link-local
    /// (the cloud metadata service 169.254.169.254), private (10/8, 172.16/12, 192.168/16),
    /// unique-local (fc00::/7), shared (100.64/10) or unspecified addresses, checked when
    /// connecting, after DNS resolution.
    #[arg(long, env = "ROTA_DENY_PRIVATE_NETWORKS")]
    deny_private_networks: bool,
    #[command(flatten)]
    retention: RetentionArgs,
    #[command(flatten)]
    smtp: SmtpArgs,
}

/// What the node deletes once it is past its age. Every node prunes; the deletes are batched.
#[derive(Debug, Args)]
#[command(next_help_heading = "Retention")]
pub struct RetentionArgs {
    /// Delete finished runs scheduled longer ago than this (`90d`, `12h`, `30min`), keeping
    /// each job's latest (--keep-last-runs); `off` keeps every run.
    #[arg(long, value_name = "AGE|off", default_value = "90d", value_parser = parse_age)]
    keep_runs: Age,
    /// However old, keep this many of each job's most recent runs.
    #[arg(long, value_name = "N", default_value_t = rota::engine::retention::DEFAULT_KEEP_LAST_PER_JOB)]
    keep_last_runs: u32,
    /// Delete notifications delivered or given up on longer ago than this, with their delivery
    /// log; `off` keeps them.
    #[arg(long, value_name = "AGE|off", default_value = "90d", value_parser = parse_age)]
    keep_notifications: Age,
    /// How often to prune (the first pass is one period after start).
    #[arg(long, value_name = "PERIOD", default_value = "1h")]
    retention_every: humantime::Duration,
}

/// A retention age, or none (`off`). (A newtype: clap reads an `Option` field as an optional
/// flag, not as a value that may be "none".)
#[derive(Debug, Clone, Copy)]
struct Age(Option<Duration>);

/// An age such as `90d`, or `off` for none.
fn parse_age(text: &str) -> Result<Age, String> {
    if text.eq_ignore_ascii_case("off") {
        return Ok(Age(None));
    }
    text.parse::<humantime::Duration>()
        .map(|age| Age(Some(age.into())))
        .map_err(|error| format!("{error}; allowed: a duration such as 90d, 12h, 30min, or off"))
}

impl RetentionArgs {
    fn policy(&self) -> rota::engine::retention::RetentionPolicy {
        rota::engine::retention::RetentionPolicy {
            runs_older_than: self.keep_runs.0,
            keep_last_per_job: self.keep_last_runs,
            notifications_older_than: self.keep_notifications.0,
            every: self.retention_every.into(),
        }
    }
}

impl ServeArgs {
    pub(super) fn retention_policy(&self) -> rota::engine::retention::RetentionPolicy {
        self.retention.policy()
    }
}

/// The SMTP server for notification emails. The password is read from `ROTA_SMTP_PASSWORD` or
/// from the file `--smtp-password-file` names, never from a flag (flags show in `ps`), and is
/// never logged.
#[derive(Debug, Args)]
#[command(next_help_heading = "Notification emails")]
pub struct SmtpArgs {
    /// SMTP server for notification emails (none: emails fail, and are retried, with a message
    /// saying so).
    #[arg(long, env = "ROTA_SMTP_HOST", value_name = "HOST")]
    smtp_host: Option<String>,
    /// Port (default: 25 with --smtp-tls none, 587 with starttls, 465 with tls).
    #[arg(long, env = "ROTA_SMTP_PORT", value_name = "PORT")]
    smtp_port: Option<u16>,
    /// none (plain text), starttls (upgrade, required), or tls (TLS from the first byte).
    #[arg(long, env = "ROTA_SMTP_TLS", value_name = "MODE", default_value = "starttls")]
    smtp_tls: String,
    /// Log in as this user (password: $ROTA_SMTP_PASSWORD or --smtp-password-file).
    #[arg(long, env = "ROTA_SMTP_USER", value_name = "USER")]
    smtp_user: Option<String>,
    /// Read the SMTP password from this file (its first line).
    #[arg(long, env = "ROTA_SMTP_PASSWORD_FILE", value_name = "PATH")]
    smtp_password_file: Option<std::path::PathBuf>,
    /// `ROTA_SMTP_PASSWORD`, taken out of the environment at start (see [`take_secrets`]).
    #[arg(skip)]
    smtp_password_env: Option<String>,
    /// The sender of notification emails.
    #[arg(
        long,
        env = "ROTA_SMTP_FROM",
        value_name = "ADDRESS",
        default_value = "Rota <rota@localhost>"
    )]
    smtp_from: String,
}

impl SmtpArgs {
    /// The configuration, or `None` without `--smtp-host`.
    pub fn config(&self) -> anyhow::Result<Option<rota::notify::SmtpConfig>> {
        use rota::notify::{SmtpConfig, SmtpPassword, SmtpTls};
        let Some(host) = &self.smtp_host else { return Ok(None) };
        let tls: SmtpTls = self.smtp_tls.parse()?;
        let password = match (&self.smtp_password_file, self.smtp_password_env.clone().ok_or(())) {
            (Some(path), _) => {
                let text = std::fs::read_to_string(path).map_err(|error| {
                    super::BadInput(format!(
                        "--smtp-password-file: cannot read {}: {error}",
                        path.display()
                    ))
                })?;
                Some(SmtpPassword::new(text.lines().next().unwrap_or_default()))
            }
            (None, Ok(text)) if !text.is_empty() => Some(SmtpPassword::new(text)),
            _ => None,
        };
        if password.is_some() && self.smtp_user.is_none() {
            return Err(super::BadInput(
                "an SMTP password is set but no --smtp-user to log in with".to_owned(),
            )
            .into());
        }
        let config = SmtpConfig {
            port: self.smtp_port.unwrap_or(tls.default_port()),
            username: self.smtp_user.clone(),
            password,
            from: self.smtp_from.clone(),
            ..SmtpConfig::new(host.clone(), tls)
        };
        config.validate()?;
        Ok(Some(config))
    }
}

/// Variables holding secrets that the daemon reads at start: the SMTP password and the
/// database URL (which may carry a password).
const SECRET_VARIABLES: [&str; 2] = ["ROTA_SMTP_PASSWORD", "ROTA_DATABASE_URL"];

/// Takes the secrets out of the process's environment once read (clap has read
/// `ROTA_DATABASE_URL` into the arguments already), so that nothing started later inherits
/// them, and makes the daemon non-dumpable: its memory, and `/proc/PID/environ` (which still
/// shows the environment the process started with), are then out of reach of processes of the
/// same user, such as its jobs. Must run before any other thread starts.
pub fn take_secrets(args: &mut ServeArgs) {
    args.smtp.smtp_password_env = std::env::var("ROTA_SMTP_PASSWORD").ok();
    for name in SECRET_VARIABLES {
        // Single-threaded still (called from `main` before the async runtime starts), so no
        // other thread reads the environment meanwhile.
        std::env::remove_var(name);
    }
    if let Err(error) = nix::sys::prctl::set_dumpable(false) {
        eprintln!("warning: cannot make rota serve non-dumpable: {}", error.desc());
    }
}

pub async fn run(args: ServeArgs, database: &DatabaseArgs) -> anyhow::Result<()> {
    let url = database.url()?;
    let config = runtime_config(&args, &url)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = match runtime::connect(&config.database, clock.as_ref()).await {
        Ok(store) => store,
        Err(error @ RuntimeError::Migrate(_)) => return Err(error.into()),
        Err(error) => {
            return Err(
                anyhow::Error::new(error).context(format!("cannot open {}", redact_url(&url)))
            );
        }
    };
    // Bound before the workers start, so that a taken port stops nothing that is running.
    let metrics = match args.metrics {
        Some(addr) => Some((
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?,
            addr,
        )),
        None => None,
    };
    let runtime = Runtime::start(store, config, clock)?;
    let shutdown = runtime.stop_token();
    tokio::spawn(wait_for_signal(shutdown.clone()));
    if let Some((listener, addr)) = metrics {
        info!(%addr, "serving /metrics and /healthz");
        let app = metrics_router(runtime.engine().clone());
        tokio::spawn(async move {
            let _ =
                axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await;
        });
    }
    info!(database = %redact_url(&url), "rota serve started");
    runtime.stopped().await?;
    Ok(())
}

/// The runtime's configuration from the flags; a value out of range is reported with its flag
/// before anything is opened (a typo must not start a daemon that cannot send email).
fn runtime_config(args: &ServeArgs, url: &str) -> anyhow::Result<RuntimeConfig> {
    let node_id = args
        .node_id
        .clone()
        .unwrap_or_else(|| format!("{}-{}", super::host_name(), std::process::id()));
    let mut database = DatabaseConfig::new(url);
    database.wait = Duration::from_secs(args.wait_for_database);
    if args.migrate {
        database.migration = rota::runtime::MigrationPolicy::Apply;
    }
    let mut config = RuntimeConfig::new(database, node_id, command_settings(args)?);
    config.workers = args.workers;
    config.lease_ttl = Duration::from_secs(args.lease_ttl);
    config.shutdown_grace = Duration::from_secs(args.shutdown_grace);
    config.claim_ahead = Duration::from_millis(args.claim_ahead);
    config.retention = args.retention_policy();
    config.egress.deny_private_networks = args.deny_private_networks;
    if let Err(error) = config.validate() {
        return Err(flag_error(error));
    }
    config.smtp = args.smtp.config()?;
    Ok(config)
}

/// A setting the runtime refused, named by its flag (`lease_ttl` → `--lease-ttl`).
fn flag_error(error: rota::Error) -> anyhow::Error {
    match error {
        rota::Error::Invalid { field, value, reason } => {
            super::BadInput(format!("--{}: {value} is {reason}", field.replace('_', "-"))).into()
        }
        other => other.into(),
    }
}

/// Commands run through this executable's `rota __exec` to get their limits and run-as user.
fn command_settings(args: &ServeArgs) -> anyhow::Result<CommandSettings> {
    let exec_wrapper =
        std::env::current_exe().context("cannot find the rota executable for `rota __exec`")?;
    let work_root = match &args.work_root {
        Some(dir) => dir.clone(),
        None => runtime::default_work_root().context("no user data directory; pass --work-root")?,
    };
    let mut settings = CommandSettings::new(work_root, exec_wrapper);
    settings.extra_env_allow = args.env_allow.clone();
    settings.allow_root_jobs = args.allow_root_jobs;
    Ok(settings)
}

async fn wait_for_signal(shutdown: CancellationToken) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut terminate), Ok(mut interrupt)) =
        (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        return;
    };
    tokio::select! {
        _ = terminate.recv() => info!("SIGTERM: shutting down gracefully"),
        _ = interrupt.recv() => info!("SIGINT: shutting down gracefully"),
    }
    shutdown.cancel();
}

/// `/healthz`: 200 while the database answers and every loop completes iterations, else 503;
/// the JSON body names what is wrong. `/metrics`: the node's metrics for Prometheus, then the
/// deployment's (per-tenant runs, the notification backlog) read from the database.
fn metrics_router<S: Store>(engine: Engine<S>) -> Router {
    let health = engine.health().clone();
    Router::new()
        .route(
            "/healthz",
            get(move || {
                let report = health.report();
                async move {
                    let status = if report.is_healthy() {
                        axum::http::StatusCode::OK
                    } else {
                        axum::http::StatusCode::SERVICE_UNAVAILABLE
                    };
                    (status, axum::Json(report))
                }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let engine = engine.clone();
                async move {
                    let mut text = engine.metrics_text();
                    text.push_str(&engine.fleet_metrics_text().await);
                    text
                }
            }),
        )
}
