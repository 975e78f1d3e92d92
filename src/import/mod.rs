//! Moving schedules in and out: importing crontabs (`rota import crontab`) and keeping
//! schedules as files (`rota export`, `rota apply`).
//!
//! Map of the module:
//! - [`crontab`]: the pure crontab reader (Vixie's rules) and the generated job names.
//! - [`schedules`]: the YAML document of tenants, named handlers and jobs; export, and the plan
//!   and execution of `apply`.
//! - [`diff`]: field-level differences, shown in every plan.
//!
//! Both imports work the same way: read and validate everything, compare with what is stored,
//! build a plan (create, update, unchanged, delete), print it, and only then write, through
//! [`crate::api::Rota`] like any other front end. An invalid line or object refuses the whole
//! import before anything is written. Writing is one call per change, not one transaction: a
//! database failure half-way leaves the earlier changes in place, and running the same import
//! again finishes the job (imports are idempotent: matched by name, unchanged objects are left
//! alone).

pub mod crontab;
pub mod diff;
pub mod schedules;

use std::fmt;
use std::time::Duration;

use serde_json::json;
use uuid::Uuid;

use crate::api::Rota;
use crate::handler::{CommandSpec, HandlerSpec};
use crate::job::{Job, JobDefinition};
use crate::policy::JobPolicy;
use crate::store::{JobFilter, Store};
pub use crontab::{Crontab, CrontabError, Format, Note};
pub use diff::FieldChange;

/// Why an import or apply was refused or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The crontab has invalid lines; nothing was written.
    #[error(transparent)]
    Crontab(#[from] CrontabError),
    /// The schedules file is invalid (the message names the object and field); nothing was
    /// written.
    #[error("{0}")]
    Document(String),
    /// Rota refused a change or the database failed.
    #[error(transparent)]
    Rota(#[from] crate::Error),
}

impl ImportError {
    /// Whether the input was at fault (rather than the database).
    pub fn is_bad_input(&self) -> bool {
        match self {
            ImportError::Crontab(_) | ImportError::Document(_) => true,
            ImportError::Rota(error) => error.code() != crate::ErrorCode::Database,
        }
    }
}

/// What happens to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Update,
    Unchanged,
    Delete,
}

impl Action {
    /// `create`, `update`, `unchanged` or `delete`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
            Action::Delete => "delete",
        }
    }
}

/// How crontab entries become jobs.
#[derive(Debug, Clone)]
pub struct CrontabOptions {
    pub format: Format,
    /// The zone of entries before any `CRON_TZ` line.
    pub timezone: String,
    /// The timeout of every imported job (cron has none).
    pub timeout: Duration,
}

/// One entry of a crontab and what importing it does.
#[derive(Debug, Clone)]
pub struct PlannedJob {
    /// The line in the crontab.
    pub line: usize,
    pub action: Action,
    pub definition: JobDefinition,
    /// The stored job's id and version, for an update.
    existing: Option<(Uuid, i64)>,
    pub changes: Vec<FieldChange>,
}

/// What importing a crontab into a tenant does.
#[derive(Debug, Clone)]
pub struct CrontabPlan {
    pub tenant: String,
    pub jobs: Vec<PlannedJob>,
    /// `@reboot` entries.
    pub skipped: Vec<Note>,
    pub warnings: Vec<Note>,
}

impl CrontabPlan {
    /// How many jobs get `action`.
    pub fn count(&self, action: Action) -> usize {
        self.jobs.iter().filter(|job| job.action == action).count()
    }
}

impl fmt::Display for CrontabPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for job in &self.jobs {
            let definition = &job.definition;
            writeln!(
                f,
                "{:<9} {}/{}  (line {}: {} in {})",
                job.action.as_str(),
                self.tenant,
                definition.name,
                job.line,
                definition.schedule,
                definition.timezone
            )?;
            for change in &job.changes {
                writeln!(f, "            {change}")?;
            }
        }
        for note in &self.skipped {
            writeln!(f, "skip      {note}")?;
        }
        for note in &self.warnings {
            writeln!(f, "warning   {note}")?;
        }
        write!(
            f,
            "{} to create, {} to update, {} unchanged, {} skipped",
            self.count(Action::Create),
            self.count(Action::Update),
            self.count(Action::Unchanged),
            self.skipped.len()
        )
    }
}

/// The job an entry becomes: a command job running the line with the crontab's `SHELL`
/// (`shell: true` for `/bin/sh`), its variables, its `%` input as stdin, and for the system
/// format its user as `run_as`.
pub fn entry_definition(entry: &crontab::Entry, name: String, timeout: Duration) -> JobDefinition {
    let mut command = if entry.shell == "/bin/sh" {
        CommandSpec::shell(entry.command.clone())
    } else {
        CommandSpec::new(entry.shell.clone(), ["-c".to_owned(), entry.command.clone()])
    };
    command.env = entry.env.clone();
    command.stdin = entry.stdin.clone();
    command.run_as = entry.user.clone();
    JobDefinition {
        name,
        schedule: entry.schedule.clone(),
        timezone: entry.timezone.clone(),
        handler: HandlerSpec::Command(command),
        payload: json!({}),
        timeout,
    }
}

/// The comparable part of a job: what an import or apply sets.
pub(crate) fn job_value(definition: &JobDefinition) -> serde_json::Value {
    json!({
        "schedule": definition.schedule,
        "timezone": definition.timezone,
        "timeout": crate::handler::outcome::human_duration(definition.timeout),
        "payload": definition.payload,
        "handler": definition.handler,
    })
}

pub(crate) fn stored_definition(job: &Job) -> JobDefinition {
    JobDefinition {
        name: job.name.clone(),
        schedule: job.schedule.clone(),
        timezone: job.timezone.clone(),
        handler: job.handler.clone(),
        payload: job.payload.clone(),
        timeout: job.timeout,
    }
}

/// Compares the crontab's entries with the tenant's `existing` jobs (matched by generated name)
/// and validates every resulting job; an invalid one refuses the plan, naming its line.
pub fn plan_crontab(
    tenant: &str,
    crontab: &Crontab,
    timeout: Duration,
    existing: &[Job],
) -> Result<CrontabPlan, CrontabError> {
    let mut taken = std::collections::BTreeMap::<String, usize>::new();
    let mut jobs = Vec::with_capacity(crontab.entries.len());
    let mut errors = Vec::new();
    for entry in &crontab.entries {
        let base = crontab::job_name(entry);
        let count = taken.entry(base.clone()).or_insert(0);
        *count += 1;
        let name = if *count == 1 { base } else { format!("{base}-{count}") };
        let definition = entry_definition(entry, name, timeout);
        if let Err(error) = definition.validate() {
            errors.push(Note { line: entry.line, message: error.to_string() });
            continue;
        }
        let stored = existing.iter().find(|job| job.name == definition.name);
        let (action, existing, changes) = match stored {
            None => (Action::Create, None, Vec::new()),
            Some(job) => {
                let changes =
                    diff::diff(&job_value(&stored_definition(job)), &job_value(&definition));
                let action = if changes.is_empty() { Action::Unchanged } else { Action::Update };
                (action, Some((job.id, job.version)), changes)
            }
        };
        jobs.push(PlannedJob { line: entry.line, action, definition, existing, changes });
    }
    if !errors.is_empty() {
        return Err(CrontabError { errors });
    }
    Ok(CrontabPlan {
        tenant: tenant.to_owned(),
        jobs,
        skipped: crontab.skipped.clone(),
        warnings: crontab.warnings.clone(),
    })
}

/// Reads `text`, plans its import into `tenant` and, unless `dry_run`, writes the plan.
pub async fn import_crontab<S: Store>(
    rota: &Rota<S>,
    tenant: &str,
    text: &str,
    options: &CrontabOptions,
    dry_run: bool,
) -> Result<CrontabPlan, ImportError> {
    let crontab = crontab::parse(text, options.format, &options.timezone)?;
    rota.tenant(tenant).await?;
    let existing = tenant_jobs(rota, tenant).await?;
    let plan = plan_crontab(tenant, &crontab, options.timeout, &existing)?;
    if !dry_run {
        for job in &plan.jobs {
            match (job.action, job.existing) {
                (Action::Create, _) => {
                    rota.add_job(tenant, &job.definition, &JobPolicy::default()).await?;
                }
                (Action::Update, Some((id, version))) => {
                    // A crontab line has no policies: the job keeps its own.
                    rota.update_job(id, version, &job.definition, None).await?;
                }
                _ => {}
            }
        }
    }
    Ok(plan)
}

/// Every job of `tenant` (refusing rather than silently working on a truncated list).
pub(crate) async fn tenant_jobs<S: Store>(rota: &Rota<S>, tenant: &str) -> crate::Result<Vec<Job>> {
    const MOST: u32 = 10_000;
    let jobs = rota
        .list_jobs(&JobFilter {
            tenant: Some(tenant.to_owned()),
            limit: Some(MOST),
            ..JobFilter::default()
        })
        .await?;
    if jobs.len() >= MOST as usize {
        return Err(crate::Error::invalid(
            "tenant",
            tenant,
            format!("has {MOST} jobs or more, more than an import or export handles at once"),
        ));
    }
    Ok(jobs)
}
