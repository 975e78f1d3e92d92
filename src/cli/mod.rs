//! Argument parsing and dispatch for the `rota` binary. Each subcommand has its own module;
//! modules translate between text and the library's API and hold no scheduling logic.

mod access;
mod audit;
mod calendar;
mod completions;
mod cron;
mod db;
mod demo;
mod export;
mod forecast;
mod import;
mod job;
mod notifications;
mod output;
mod runs;
mod serve;
mod tenant;
mod tenant_settings;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

/// Exit status for bad input (invalid expression, unknown zone, bad flag value) and for what
/// the database role may not do (`not allowed: operate on tenant acme`).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit status for everything else that failed (database down, I/O error).
pub const EXIT_FAILURE: u8 = 1;

/// An error caused by what the user typed: printed to stderr, exit status 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

#[derive(Debug, Parser)]
#[command(name = "rota", version, about = "Rota: a tenant-aware, durable job scheduler")]
struct Cli {
    #[command(flatten)]
    database: db::DatabaseArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Evaluate and explain cron expressions.
    #[command(subcommand)]
    Cron(cron::CronCommand),
    /// Create or update the database schema.
    #[command(
        after_help = "Example:\n  rota migrate --database postgres://postgres@127.0.0.1/rota"
    )]
    Migrate,
    /// Run the scheduler daemon.
    Serve(serve::ServeArgs),
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(tenant::TenantCommand),
    /// Manage jobs.
    #[command(subcommand)]
    Job(job::JobCommand),
    /// When every enabled job starts over the next hours: busiest minutes, herds.
    Forecast(forecast::ForecastArgs),
    /// Holiday and blackout calendars that jobs exclude (or run only on).
    #[command(subcommand)]
    Calendar(calendar::CalendarCommand),
    /// Manage named handler definitions.
    #[command(subcommand)]
    Handler(job::HandlerCommand),
    /// Demo data for a first start.
    #[command(subcommand)]
    Demo(demo::DemoCommand),
    /// Inspect runs.
    #[command(subcommand)]
    Runs(runs::RunsCommand),
    /// Import schedules from elsewhere (crontabs).
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Write tenants, named handlers and jobs as YAML (no secrets).
    Export(export::ExportArgs),
    /// Create and update tenants, named handlers and jobs from a YAML file, showing the diff.
    Apply(export::ApplyArgs),
    /// Who changed what: the append-only audit log.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Tenants' notifications: the delivery log.
    #[command(subcommand)]
    Notifications(notifications::NotificationsCommand),
    /// Who may do what (Postgres roles and their grants per tenant).
    #[command(subcommand)]
    Access(access::AccessCommand),
    /// Print the shell completion script for bash, zsh or fish.
    #[command(after_help = completions::AFTER_HELP)]
    Completions(completions::CompletionsArgs),
}

pub fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if let Command::Serve(args) = &mut cli.command {
        serve::take_secrets(args);
    }
    init_tracing();
    let result = match cli.command {
        Command::Cron(command) => cron::run(command),
        Command::Completions(args) => completions::run(&args, &mut Cli::command()),
        command => run_async(command, cli.database),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if is_bad_input(&error) {
                // Errors may quote a URL the user gave: shown as the one redaction shows it.
                eprintln!("error: {}", rota::redact::text(&error.to_string()));
                ExitCode::from(EXIT_BAD_INPUT)
            } else {
                eprintln!("error: {}", rota::redact::text(&format!("{error:#}")));
                ExitCode::from(EXIT_FAILURE)
            }
        }
    }
}

/// Input errors (exit 2) versus failures (exit 1): the library's error codes decide, never text.
fn is_bad_input(error: &anyhow::Error) -> bool {
    if error.downcast_ref::<BadInput>().is_some() {
        return true;
    }
    // `rota serve` reports the runtime's errors, which carry the same codes.
    let code = error.downcast_ref::<rota::Error>().map(rota::Error::code).or_else(|| {
        error.downcast_ref::<rota::runtime::RuntimeError>().map(rota::runtime::RuntimeError::code)
    });
    match code {
        Some(code) => matches!(
            code,
            rota::ErrorCode::Invalid
                | rota::ErrorCode::NotFound
                | rota::ErrorCode::AlreadyExists
                | rota::ErrorCode::StaleVersion
                | rota::ErrorCode::Forbidden
        ),
        None => false,
    }
}

fn run_async(command: Command, database: db::DatabaseArgs) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match command {
            Command::Cron(_) | Command::Completions(_) => unreachable!("handled synchronously"),
            Command::Migrate => {
                let url = database.url()?;
                database.open_migrating().await?;
                println!("database {} is up to date", db::redact_url(&url));
                Ok(())
            }
            Command::Serve(args) => serve::run(args, &database).await,
            Command::Tenant(command) => tenant::run(command, &database).await,
            Command::Job(command) => job::run(command, &database).await,
            Command::Calendar(command) => calendar::run(command, &database).await,
            Command::Forecast(args) => forecast::run(args, &database).await,
            Command::Handler(command) => job::run_handler(command, &database).await,
            Command::Runs(command) => runs::run(command, &database).await,
            Command::Demo(command) => demo::run(command, &database).await,
            Command::Import(command) => import::run(command, &database).await,
            Command::Export(args) => export::export(args, &database).await,
            Command::Apply(args) => export::apply(args, &database).await,
            Command::Audit(command) => audit::run(command, &database).await,
            Command::Notifications(command) => notifications::run(command, &database).await,
            Command::Access(command) => access::run(command, &database).await,
        }
    })
}

pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .unwrap_or_else(|_| "localhost".to_owned())
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("ROTA_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    // Logs go to stderr so that stdout stays machine-readable for scripts; every line passes
    // through the one redaction (a URL in an error field loses its password).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(rota::redact::Redacting(std::io::stderr))
        .try_init();
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command};

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    /// Every subcommand parses with its defaults alone (a default of the wrong type fails
    /// only when the arguments are read, at run time).
    #[test]
    fn serve_parses_with_its_defaults_and_with_retention_off() {
        let parsed = Cli::try_parse_from(["rota", "serve"]).expect("defaults");
        assert!(matches!(parsed.command, Command::Serve(_)));
        let parsed = Cli::try_parse_from([
            "rota",
            "serve",
            "--keep-runs",
            "off",
            "--keep-notifications",
            "30d",
            "--retention-every",
            "10min",
        ])
        .expect("retention flags");
        let Command::Serve(args) = parsed.command else { unreachable!() };
        let policy = args.retention_policy();
        assert_eq!(policy.runs_older_than, None);
        assert_eq!(
            policy.notifications_older_than,
            Some(std::time::Duration::from_secs(30 * 86_400))
        );
        assert_eq!(policy.every, std::time::Duration::from_secs(600));
        let error = Cli::try_parse_from(["rota", "serve", "--keep-runs", "soon"]).unwrap_err();
        assert!(error.to_string().contains("--keep-runs"), "{error}");
        assert!(error.to_string().contains("or off"), "{error}");
    }
}
