//! `rota job add|list|show|trigger` and `rota handler set`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use rota::handler::{CommandSpec, HandlerSpec, HttpSpec};
use rota::job::{Job, JobDefinition};
use rota::store::JobFilter;

use super::db::DatabaseArgs;
use super::output::{instant, print_json, print_table};
use super::BadInput;

#[derive(Debug, Subcommand)]
pub enum JobCommand {
    /// Create a job.
    #[command(after_help = "Examples:\n  \
        rota job add --tenant acme --name nightly-report --schedule '30 2 * * *' --tz Europe/Berlin \\\n      \
        --http-url https://reports.internal/run --header 'Authorization: Bearer …' --payload '{\"kind\":\"daily\"}'\n  \
        rota job add --tenant acme --name cleanup --schedule '@hourly' --command /usr/local/bin/cleanup --arg --verbose")]
    Add(JobAddArgs),
    /// List jobs.
    #[command(after_help = "Example:\n  rota job list --tenant acme --json")]
    List {
        #[arg(long)]
        tenant: Option<String>,
        #[arg(long, default_value_t = 500)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Show one job, with its next runs.
    #[command(after_help = "Example:\n  rota job show --tenant acme --name nightly-report")]
    Show {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Run a job now (counts against the tenant's limits; trigger `manual`).
    #[command(
        after_help = "Example:\n  rota job trigger --tenant acme --name nightly-report --payload '{\"dry_run\":true}'"
    )]
    Trigger {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// A payload for this run only, instead of the job's.
        #[arg(long)]
        payload: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct JobAddArgs {
    #[arg(long)]
    tenant: String,
    #[arg(long)]
    name: String,
    /// Cron expression (5 or 6 fields) or macro; see `rota cron explain`.
    #[arg(long)]
    schedule: String,
    /// IANA time zone the schedule is read in.
    #[arg(long, default_value = "UTC")]
    tz: String,
    /// Seconds before the run is stopped.
    #[arg(long, default_value_t = rota::job::DEFAULT_TIMEOUT.as_secs())]
    timeout: u64,
    /// JSON payload passed to the handler.
    #[arg(long, default_value = "{}")]
    payload: String,
    #[command(flatten)]
    handler: HandlerArgs,
}

/// Exactly one kind of handler.
#[derive(Debug, Args)]
#[group(required = true, multiple = false, id = "handler_kind")]
pub struct HandlerKindArgs {
    /// Call this URL with the run envelope as JSON.
    #[arg(long)]
    http_url: Option<String>,
    /// Run this program (argument vector, no shell).
    #[arg(long)]
    command: Option<String>,
    /// Use a named handler definition (see `rota handler set`).
    #[arg(long)]
    handler: Option<String>,
}

#[derive(Debug, Args)]
pub struct HandlerArgs {
    #[command(flatten)]
    kind: HandlerKindArgs,
    /// HTTP method for --http-url.
    #[arg(long, default_value = "POST", requires = "http_url")]
    http_method: String,
    /// Extra HTTP header, 'Name: value' (repeatable).
    #[arg(long = "header", requires = "http_url")]
    headers: Vec<String>,
    /// Argument for --command (repeatable, in order).
    #[arg(long = "arg", requires = "command", allow_hyphen_values = true)]
    args: Vec<String>,
    /// Environment variable for --command, NAME=VALUE (repeatable).
    #[arg(long = "env", requires = "command")]
    env: Vec<String>,
    /// Working directory for --command.
    #[arg(long, requires = "command")]
    workdir: Option<PathBuf>,
    /// Run --command's text with /bin/sh -c (only when you need a shell).
    #[arg(long, requires = "command")]
    shell: bool,
}

impl HandlerArgs {
    pub fn to_spec(&self) -> Result<HandlerSpec, BadInput> {
        if let Some(url) = &self.kind.http_url {
            let mut headers = BTreeMap::new();
            for header in &self.headers {
                let (name, value) = header.split_once(':').ok_or_else(|| {
                    BadInput(format!("--header: {header:?} is invalid: expected 'Name: value'"))
                })?;
                headers.insert(name.trim().to_owned(), value.trim().to_owned());
            }
            return Ok(HandlerSpec::Http(HttpSpec {
                method: self.http_method.to_ascii_uppercase(),
                url: url.clone(),
                headers,
            }));
        }
        if let Some(program) = &self.kind.command {
            let mut env = BTreeMap::new();
            for pair in &self.env {
                let (name, value) = pair.split_once('=').ok_or_else(|| {
                    BadInput(format!("--env: {pair:?} is invalid: expected NAME=VALUE"))
                })?;
                env.insert(name.to_owned(), value.to_owned());
            }
            let mut spec = if self.shell {
                CommandSpec::shell(program.clone())
            } else {
                CommandSpec::new(program.clone(), self.args.clone())
            };
            spec.env = env;
            spec.working_dir = self.workdir.clone();
            return Ok(HandlerSpec::Command(spec));
        }
        match &self.kind.handler {
            Some(name) => Ok(HandlerSpec::Named { name: name.clone() }),
            None => Err(BadInput("one of --http-url, --command or --handler is required".into())),
        }
    }
}

pub fn parse_payload(flag: &str, text: &str) -> Result<serde_json::Value, BadInput> {
    serde_json::from_str(text)
        .map_err(|error| BadInput(format!("{flag}: {text:?} is not valid JSON: {error}")))
}

pub async fn run(command: JobCommand, database: &DatabaseArgs) -> anyhow::Result<()> {
    match command {
        JobCommand::Add(args) => {
            let definition = JobDefinition {
                name: args.name,
                schedule: args.schedule,
                timezone: args.tz,
                handler: args.handler.to_spec()?,
                payload: parse_payload("--payload", &args.payload)?,
                timeout: Duration::from_secs(args.timeout),
            };
            // Validate before connecting, so bad input never touches the database.
            definition.validate()?;
            let rota = database.open().await?;
            let job = rota.add_job(&args.tenant, &definition).await?;
            println!(
                "created job {}/{} ({}); next run {}",
                job.tenant,
                job.name,
                job.id,
                instant(job.next_run_at)
            );
        }
        JobCommand::List { tenant, limit, json } => {
            let rota = database.open().await?;
            let jobs =
                rota.list_jobs(&JobFilter { tenant, enabled: None, limit: Some(limit) }).await?;
            if json {
                return print_json(&jobs);
            }
            print_table(
                &["TENANT", "JOB", "SCHEDULE", "ZONE", "HANDLER", "STATE", "NEXT RUN", "LAST RUN"],
                jobs.into_iter().map(job_row).collect(),
            );
        }
        JobCommand::Show { tenant, name, json } => {
            let rota = database.open().await?;
            let job = rota.job(&tenant, &name).await?;
            if json {
                return print_json(&job);
            }
            print_job(&job, rota.now())?;
        }
        JobCommand::Trigger { tenant, name, payload } => {
            let payload = payload.map(|text| parse_payload("--payload", &text)).transpose()?;
            let rota = database.open().await?;
            let run = rota.trigger(&tenant, &name, payload.as_ref()).await?;
            println!("queued run {} of {}/{}", run.id, run.tenant, run.job);
        }
    }
    Ok(())
}

fn job_row(job: Job) -> Vec<String> {
    let state = match (&job.enabled, &job.disabled_reason) {
        (true, _) => "enabled".to_owned(),
        (false, Some(reason)) => format!("disabled ({reason})"),
        (false, None) => "disabled".to_owned(),
    };
    vec![
        job.tenant,
        job.name,
        job.schedule,
        job.timezone,
        job.handler.kind().to_owned(),
        state,
        instant(job.next_run_at),
        instant(job.last_run_at),
    ]
}

fn print_job(job: &Job, now: chrono::DateTime<chrono::Utc>) -> anyhow::Result<()> {
    let schedule = job.parsed_schedule()?;
    println!("{}/{}  ({})", job.tenant, job.name, job.id);
    println!("  schedule:  {}  [{}]", job.schedule, job.timezone);
    println!("             {}", schedule.describe());
    println!("  handler:   {}", serde_json::to_string(&job.handler)?);
    println!("  payload:   {}", job.payload);
    println!("  timeout:   {} s", job.timeout.as_secs());
    println!(
        "  enabled:   {}{}",
        job.enabled,
        job.disabled_reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default()
    );
    println!("  failures:  {} in a row", job.consecutive_failures);
    println!("  last run:  {}", instant(job.last_run_at));
    println!("  next runs:");
    for at in schedule.occurrences_after(now).take(5) {
        println!("    {}", instant(Some(at.at)));
    }
    println!("  version:   {}", job.version);
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum HandlerCommand {
    /// Define (or redefine) a named handler that jobs refer to with --handler NAME.
    #[command(
        after_help = "Example:\n  rota handler set reports.daily --http-url http://127.0.0.1:8080/reports"
    )]
    Set {
        name: String,
        #[command(flatten)]
        handler: HandlerArgs,
    },
}

pub async fn run_handler(command: HandlerCommand, database: &DatabaseArgs) -> anyhow::Result<()> {
    let HandlerCommand::Set { name, handler } = command;
    let spec = handler.to_spec()?;
    let rota = database.open().await?;
    rota.set_named_handler(&name, &spec).await?;
    println!("handler {name} saved");
    Ok(())
}
