//! `rota job add|set|list|show|trigger|pause|resume|enable|disable|backfill` and
//! `rota handler set`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use rota::api::{BackfillRequest, JobRef};
use rota::handler::{CommandSpec, FollowRedirects, HandlerSpec, HttpSpec};
use rota::job::{Job, JobDefinition};
use rota::policy::{human_duration, Backoff, JobPolicy, MissedPolicy, PolicyChanges};
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
    // Boxed: the argument structs are large and an enum is as large as its largest variant.
    Add(Box<JobAddArgs>),
    /// Change a job's policies; flags not given stay as they are.
    #[command(after_help = "Examples:\n  \
        rota job set --tenant acme --name nightly-report --max-retries 3 --backoff exponential \\\n      \
        --backoff-initial 30 --backoff-max 900 --auto-disable-after 10\n  \
        rota job set --tenant acme --name sync --overlap queue_one --missed run_all --missed-max-runs 24")]
    Set(Box<JobSetArgs>),
    /// Stop a job's schedule; what it misses is recorded (and caught up) per its missed policy
    /// when it is resumed.
    #[command(after_help = "Example:\n  rota job pause --tenant acme --name nightly-report")]
    Pause(JobName),
    /// Resume a paused job.
    #[command(after_help = "Example:\n  rota job resume --tenant acme --name nightly-report")]
    Resume(JobName),
    /// Enable a disabled job: its failure streak restarts and its next run is computed from now.
    #[command(
        after_help = "Example:\n  rota job enable --tenant acme --name nightly-report --probation --operator alice"
    )]
    Enable {
        #[command(flatten)]
        job: JobName,
        /// Disable it again on its first failed occurrence.
        #[arg(long)]
        probation: bool,
    },
    /// Disable a job.
    #[command(
        after_help = "Example:\n  rota job disable --tenant acme --name nightly-report --reason 'endpoint retired'"
    )]
    Disable {
        #[command(flatten)]
        job: JobName,
        /// Why, for the people who read it later.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Queue a run (trigger `backfill`) for every occurrence in a past range that did not run.
    #[command(after_help = "Example:\n  \
        rota job backfill --tenant acme --name nightly-report --from 2027-03-01T00:00:00Z --to 2027-03-08T00:00:00Z --dry-run\n\n\
        Occurrences that ran (or are queued) are left alone, so repeating a backfill adds nothing.\n\
        A range with more occurrences than --max is refused.")]
    Backfill {
        #[command(flatten)]
        job: JobName,
        /// Start of the range (RFC 3339), inclusive.
        #[arg(long)]
        from: String,
        /// End of the range (RFC 3339), inclusive; not in the future.
        #[arg(long)]
        to: String,
        /// Refuse ranges with more occurrences than this.
        #[arg(long, default_value_t = rota::api::DEFAULT_BACKFILL_MAX)]
        max: u32,
        /// Only list the occurrences.
        #[arg(long)]
        dry_run: bool,
    },
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
    #[command(flatten)]
    policy: PolicyArgs,
}

/// A job, by tenant and name.
#[derive(Debug, Args)]
pub struct JobName {
    #[arg(long)]
    tenant: String,
    #[arg(long)]
    name: String,
}

impl JobName {
    fn job_ref(&self) -> JobRef<'_> {
        JobRef::named(&self.tenant, &self.name)
    }
}

#[derive(Debug, Args)]
pub struct JobSetArgs {
    #[command(flatten)]
    job: JobName,
    /// Run the job's command as this user ('' clears: the tenant's user, if any). A tenant's
    /// run-as user is a ceiling: its jobs may name only that user.
    #[arg(long, value_name = "USER")]
    run_as: Option<String>,
    #[command(flatten)]
    policy: PolicyArgs,
}

/// The policy flags of `rota job add` and `rota job set`. Values are checked by the library
/// (`JobPolicy::validate`), whose errors name the field, the value and the allowed range.
#[derive(Debug, Args)]
#[command(next_help_heading = "Policies")]
pub struct PolicyArgs {
    /// Retries of a failed attempt (default: the tenant's default, else 0).
    #[arg(long, value_name = "N")]
    max_retries: Option<u32>,
    /// How retries back off: fixed or exponential.
    #[arg(long, value_name = "KIND")]
    backoff: Option<String>,
    /// Seconds before the first retry (with --backoff fixed: before every retry).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    backoff_initial: Option<f64>,
    /// Factor between consecutive exponential delays (1-10).
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    backoff_multiplier: Option<f64>,
    /// Longest exponential delay, in seconds.
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    backoff_max: Option<f64>,
    /// Shorten each retry delay by up to this fraction (0-1), stable per attempt.
    #[arg(long, value_name = "F", allow_negative_numbers = true)]
    retry_jitter: Option<f64>,
    /// When the previous run is still running: skip, queue_one, allow or cancel_previous.
    #[arg(long, value_name = "POLICY")]
    overlap: Option<String>,
    /// Occurrences missed while no scheduler ran or the job was paused: run_once, run_all or
    /// skip.
    #[arg(long, value_name = "POLICY")]
    missed: Option<String>,
    /// With --missed run_all: at most this many catch-up runs.
    #[arg(long, value_name = "N")]
    missed_max_runs: Option<u32>,
    /// Catch up only occurrences this recent, in seconds (at least the schedule's period).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    catch_up_window: Option<f64>,
    /// Disable the job after this many failed occurrences in a row (0: never; default: the
    /// tenant's default, else 5).
    #[arg(long, value_name = "N")]
    auto_disable_after: Option<u32>,
    /// Put the job on probation whenever it is re-enabled.
    #[arg(long, overrides_with = "no_probation")]
    probation: bool,
    /// No probation on re-enable.
    #[arg(long, overrides_with = "probation")]
    no_probation: bool,
    /// Spread the job's runs over this many seconds after each scheduled instant, by an offset
    /// stable per job (0: none).
    #[arg(long, value_name = "SECONDS", allow_negative_numbers = true)]
    jitter_window: Option<f64>,
    /// Do not run on the days (or in the windows) of this calendar: the tenant's, else a
    /// shared one. Repeatable; replaces the job's list ('' alone clears it).
    #[arg(long, value_name = "NAME")]
    exclude_calendar: Vec<String>,
    /// Run only on the days (or in the windows) of this calendar ('' clears it).
    #[arg(long, value_name = "NAME")]
    only_calendar: Option<String>,
    /// What an excluded occurrence does: skip, or move to the same wall time on the next or
    /// previous allowed day.
    #[arg(long, value_name = "skip|next|previous")]
    on_excluded: Option<String>,
}

impl PolicyArgs {
    /// Changes what the flags say in `policy`.
    pub fn apply(&self, policy: &mut JobPolicy) -> Result<(), rota::Error> {
        let probation = match (self.probation, self.no_probation) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        };
        PolicyChanges {
            max_retries: self.max_retries,
            backoff: self.backoff.clone(),
            backoff_initial: self.backoff_initial,
            backoff_multiplier: self.backoff_multiplier,
            backoff_max: self.backoff_max,
            retry_jitter: self.retry_jitter,
            overlap: self.overlap.clone(),
            missed: self.missed.clone(),
            missed_max_runs: self.missed_max_runs,
            catch_up_window: self.catch_up_window,
            auto_disable_after: self.auto_disable_after,
            probation,
            jitter_window: self.jitter_window,
            exclude_calendars: (!self.exclude_calendar.is_empty()).then(|| {
                self.exclude_calendar.iter().filter(|name| !name.is_empty()).cloned().collect()
            }),
            only_calendar: self.only_calendar.clone(),
            on_excluded: self.on_excluded.clone(),
        }
        .apply(policy)
    }
}

/// One line per policy, for `rota job show` and `rota job set`.
fn policy_lines(job: &Job) -> Vec<(&'static str, String)> {
    let policy = &job.policy;
    let retries = match policy.max_retries {
        Some(retries) => retries.to_string(),
        None => "tenant default".to_owned(),
    };
    let backoff = match policy.backoff {
        Backoff::Fixed { delay } => format!("fixed {}", human_duration(delay)),
        Backoff::Exponential { initial, multiplier, max } => format!(
            "exponential {} x{multiplier} up to {}",
            human_duration(initial),
            human_duration(max)
        ),
    };
    let missed = match policy.missed {
        MissedPolicy::RunAll { max_runs } => format!("run_all (at most {max_runs})"),
        other => other.kind().to_string(),
    };
    let window = policy
        .catch_up_window
        .map_or_else(|| "default (1d or the period)".to_owned(), human_duration);
    let auto_disable = match policy.auto_disable_after {
        Some(0) => "never".to_owned(),
        Some(after) => format!("after {after} failed occurrences"),
        None => "tenant default".to_owned(),
    };
    vec![
        ("retries", format!("{retries}, backoff {backoff}, jitter {}", policy.retry_jitter)),
        ("overlap", policy.overlap.to_string()),
        ("missed", format!("{missed}, catch-up window {window}")),
        (
            "disable",
            format!(
                "{auto_disable}{}",
                if policy.probation { ", probation on re-enable" } else { "" }
            ),
        ),
        ("jitter", policy.jitter_window.map_or_else(|| "none".to_owned(), human_duration)),
        ("calendars", calendar_line(policy)),
    ]
}

/// `excludes office, holidays (skip); only closing`, or `none`.
fn calendar_line(policy: &JobPolicy) -> String {
    let mut parts = Vec::new();
    if !policy.exclude_calendars.is_empty() {
        parts.push(format!(
            "excludes {} ({})",
            policy.exclude_calendars.join(", "),
            policy.on_excluded
        ));
    }
    if let Some(only) = &policy.only_calendar {
        parts.push(format!("only {only}"));
    }
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join("; ")
    }
}

fn parse_instant(flag: &str, text: &str) -> Result<DateTime<Utc>, BadInput> {
    DateTime::parse_from_rfc3339(text).map(|at| at.to_utc()).map_err(|error| {
        BadInput(format!(
            "{flag}: {text:?} is not an RFC 3339 instant ({error}), e.g. 2027-03-01T00:00:00Z"
        ))
    })
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
    /// Redirects --http-url follows: none (a 3xx fails the run, naming its Location) or
    /// same-origin (only to the same scheme, host and port).
    #[arg(long, value_name = "none|same-origin", default_value = "none", requires = "http_url")]
    follow_redirects: String,
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
    /// Run --command as this user (Rota must run as root; default: the tenant's user).
    #[arg(long, value_name = "USER", requires = "command")]
    run_as: Option<String>,
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
            let follow_redirects =
                self.follow_redirects.parse::<FollowRedirects>().map_err(|_| {
                    let allowed: Vec<_> = FollowRedirects::ALL.iter().map(|f| f.as_str()).collect();
                    BadInput(format!(
                        "--follow-redirects: {:?} is invalid: allowed: {}",
                        self.follow_redirects,
                        allowed.join(", ")
                    ))
                })?;
            return Ok(HandlerSpec::Http(HttpSpec {
                method: self.http_method.to_ascii_uppercase(),
                url: url.clone(),
                headers,
                follow_redirects,
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
            spec.run_as = self.run_as.clone();
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
            let mut policy = JobPolicy::default();
            args.policy.apply(&mut policy)?;
            // Validate before connecting, so bad input never touches the database.
            policy.validate(&definition.validate()?)?;
            let rota = database.open().await?;
            let job = rota.add_job(&args.tenant, &definition, &policy).await?;
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
            // Every output shows jobs as the one redaction does (handler secrets, errors).
            let jobs: Vec<Job> = jobs.into_iter().map(rota::redact::job).collect();
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
            let job = rota::redact::job(rota.job(JobRef::named(&tenant, &name)).await?);
            if json {
                return print_json(&job);
            }
            print_job(&job, rota.now())?;
        }
        JobCommand::Set(args) => {
            let rota = database.open().await?;
            let mut job = rota.job(args.job.job_ref()).await?;
            let mut policy = job.policy.clone();
            args.policy.apply(&mut policy)?;
            if let Some(user) = &args.run_as {
                let mut definition = job.definition();
                let HandlerSpec::Command(command) = &mut definition.handler else {
                    return Err(BadInput(format!(
                        "--run-as: the job's handler is {}, not a command",
                        job.handler.kind()
                    ))
                    .into());
                };
                command.run_as = (!user.is_empty()).then(|| user.clone());
                // Only the handler changes here; the policies are written below.
                job = rota.update_job(job.id, job.version, &definition, None).await?;
            }
            // The version read above: a concurrent change makes this fail instead of being lost.
            if policy != job.policy || args.run_as.is_none() {
                job = rota.set_job_policy(job.id, job.version, &policy).await?;
            }
            println!("updated job {}/{}", job.tenant, job.name);
            for (label, value) in policy_lines(&job) {
                println!("  {label:<9}{value}");
            }
        }
        JobCommand::Pause(job) => {
            let rota = database.open().await?;
            let job = rota.pause_job(job.job_ref()).await?;
            println!("paused job {}/{}", job.tenant, job.name);
        }
        JobCommand::Resume(job) => {
            let rota = database.open().await?;
            let job = rota.resume_job(job.job_ref()).await?;
            println!(
                "resumed job {}/{} (missed occurrences are handled per its missed policy: {})",
                job.tenant,
                job.name,
                job.policy.missed.kind()
            );
        }
        JobCommand::Enable { job, probation } => {
            // The operator (global --operator, $ROTA_OPERATOR, else the OS user) is recorded on
            // the job, in the `job.re_enabled` event and in the audit log.
            let rota = database.open().await?;
            let operator = rota.operator().to_owned();
            let job = rota.enable_job(job.job_ref(), &operator, probation).await?;
            println!(
                "enabled job {}/{}{}; next run {}",
                job.tenant,
                job.name,
                if job.on_probation { " on probation" } else { "" },
                instant(job.next_run_at)
            );
        }
        JobCommand::Disable { job, reason } => {
            let rota = database.open().await?;
            let operator = rota.operator().to_owned();
            let job = rota.disable_job(job.job_ref(), &operator, reason.as_deref()).await?;
            println!(
                "disabled job {}/{} ({})",
                job.tenant,
                job.name,
                job.disabled_reason.unwrap_or_default()
            );
        }
        JobCommand::Backfill { job, from, to, max, dry_run } => {
            let from = parse_instant("--from", &from)?;
            let to = parse_instant("--to", &to)?;
            let rota = database.open().await?;
            let request = BackfillRequest { from, to, max: Some(max), dry_run };
            let backfill = rota.backfill(job.job_ref(), &request).await.inspect_err(|error| {
                // The core's message is the console's too, so the flag is named here.
                if matches!(error, rota::Error::Invalid { field, .. } if field == "backfill range")
                {
                    eprintln!(
                        "hint: raise --max (at most {}) to queue more in one backfill",
                        rota::api::MAX_BACKFILL
                    );
                }
            })?;
            match backfill.report {
                None => {
                    for at in &backfill.occurrences {
                        println!("{}", instant(Some(*at)));
                    }
                    println!(
                        "{} occurrences of {}/{} (dry run: nothing queued)",
                        backfill.occurrences.len(),
                        backfill.job.tenant,
                        backfill.job.name
                    );
                }
                Some(report) => println!(
                    "backfill of {}/{}: {} occurrences, {} runs queued, {} left alone (they ran or \
                     are queued)",
                    job.tenant, job.name, report.occurrences, report.queued, report.already_present
                ),
            }
        }
        JobCommand::Trigger { tenant, name, payload } => {
            let payload = payload.map(|text| parse_payload("--payload", &text)).transpose()?;
            let rota = database.open().await?;
            let run = rota.trigger(JobRef::named(&tenant, &name), payload.as_ref()).await?;
            println!("queued run {} of {}/{}", run.id, run.tenant, run.job);
        }
    }
    Ok(())
}

fn job_row(job: Job) -> Vec<String> {
    let state = match (&job.enabled, &job.disabled_reason) {
        (true, _) if job.paused => "paused".to_owned(),
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
    if job.paused {
        println!("  paused:    since {}", instant(job.paused_at));
    }
    if job.on_probation {
        println!("  probation: the next failed occurrence disables the job");
    }
    if let Some(operator) = &job.enabled_by {
        println!("  enabled by {operator}");
    }
    println!("  failures:  {} in a row", job.consecutive_failures);
    if let Some(error) = &job.last_error {
        println!("  last error: {}", error.lines().next().unwrap_or_default());
    }
    for (label, value) in policy_lines(job) {
        println!("  {:<11}{value}", format!("{label}:"));
    }
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
