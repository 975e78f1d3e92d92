//! Jobs: the table (filtered, sorted and paged by the database), reading one job, creating and
//! editing with optimistic concurrency.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use rota::api::{
    JobPage as CoreJobPage, JobQuery as CoreJobQuery, JobSort as CoreJobSort,
    JobState as CoreJobState,
};
use rota::handler::{CommandSpec, HandlerSpec, HttpSpec};
use rota::job::{Job, JobDefinition};
use serde::{Deserialize, Serialize};
use specta::Type;
use tauri::State;

use super::{instant, optional_instant, parse_id};
use crate::console::Console;
use crate::error::CommandError;

/// Whether a job runs on its schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Enabled,
    /// Switched off by a person.
    Disabled,
    /// Switched off by Rota after too many consecutive failures.
    AutoDisabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum HandlerKind {
    Http,
    Command,
    Named,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum JobSort {
    Name,
    Tenant,
    NextRun,
    LastRun,
    Failures,
    Updated,
}

/// One page of the jobs table. Everything is applied by the database.
#[derive(Debug, Clone, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct JobQuery {
    /// Matches job or tenant names containing this text (case-insensitive).
    pub search: Option<String>,
    pub tenant: Option<String>,
    pub state: Option<JobState>,
    pub handler: Option<HandlerKind>,
    pub sort: JobSort,
    pub descending: bool,
    pub offset: u32,
    pub limit: u32,
}

/// A job as the jobs table shows it.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct JobRow {
    pub id: String,
    pub tenant: String,
    pub name: String,
    pub schedule: String,
    pub timezone: String,
    pub handler: HandlerKind,
    pub state: JobState,
    pub disabled_reason: Option<String>,
    pub consecutive_failures: u32,
    pub next_run_at: Option<String>,
    pub last_run_at: Option<String>,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct JobPage {
    pub rows: Vec<JobRow>,
    /// Jobs matching the filters, on all pages.
    pub total: u32,
}

/// A name and value (HTTP header, environment variable), kept in the order the user typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct NameValue {
    pub name: String,
    pub value: String,
}

/// What a job runs, as the editor edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HandlerInput {
    #[serde(rename_all = "camelCase")]
    Http {
        method: String,
        url: String,
        headers: Vec<NameValue>,
    },
    #[serde(rename_all = "camelCase")]
    Command {
        program: String,
        args: Vec<String>,
        env: Vec<NameValue>,
        working_dir: Option<String>,
        shell: bool,
    },
    Named {
        name: String,
    },
}

/// The editable definition of a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct JobInput {
    pub name: String,
    pub schedule: String,
    pub timezone: String,
    pub handler: HandlerInput,
    /// The payload as JSON text; the core parses and validates it.
    pub payload: String,
    pub timeout_seconds: u32,
}

/// One job with everything the editor needs.
#[derive(Debug, Clone, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct JobDetail {
    pub id: String,
    pub tenant: String,
    /// Pass back with an edit; a save based on an older version is refused.
    pub version: String,
    pub definition: JobInput,
    pub state: JobState,
    pub disabled_reason: Option<String>,
    pub consecutive_failures: u32,
    pub next_run_at: Option<String>,
    pub last_run_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// A paused job is not due until resumed.
    pub paused: bool,
    /// The error of the last failed occurrence.
    pub last_error: Option<String>,
    /// Re-enabled on probation: the next failed occurrence disables it again.
    pub on_probation: bool,
    /// Who enabled it last.
    pub enabled_by: Option<String>,
}

fn handler_kind(spec: &HandlerSpec) -> HandlerKind {
    match spec {
        HandlerSpec::Http(_) => HandlerKind::Http,
        HandlerSpec::Command(_) => HandlerKind::Command,
        HandlerSpec::Named { .. } => HandlerKind::Named,
    }
}

fn job_state(job: &Job) -> JobState {
    match CoreJobState::of(job) {
        CoreJobState::Enabled => JobState::Enabled,
        CoreJobState::Disabled => JobState::Disabled,
        CoreJobState::AutoDisabled => JobState::AutoDisabled,
    }
}

fn pairs(map: BTreeMap<String, String>) -> Vec<NameValue> {
    map.into_iter().map(|(name, value)| NameValue { name, value }).collect()
}

impl From<HandlerSpec> for HandlerInput {
    fn from(spec: HandlerSpec) -> Self {
        match spec {
            HandlerSpec::Http(http) => HandlerInput::Http {
                method: http.method,
                url: http.url,
                headers: pairs(http.headers),
            },
            HandlerSpec::Command(command) => HandlerInput::Command {
                program: command.program,
                args: command.args,
                env: pairs(command.env),
                working_dir: command.working_dir.map(|dir| dir.display().to_string()),
                shell: command.shell,
            },
            HandlerSpec::Named { name } => HandlerInput::Named { name },
        }
    }
}

/// Name-value lists become maps; a name given twice is refused rather than silently dropped.
fn map(field: &str, list: Vec<NameValue>) -> Result<BTreeMap<String, String>, CommandError> {
    let mut map = BTreeMap::new();
    for NameValue { name, value } in list {
        if map.insert(name.clone(), value).is_some() {
            return Err(CommandError::invalid(field, format!("{name:?} is given twice")));
        }
    }
    Ok(map)
}

impl HandlerInput {
    fn into_spec(self) -> Result<HandlerSpec, CommandError> {
        Ok(match self {
            HandlerInput::Http { method, url, headers } => HandlerSpec::Http(HttpSpec {
                method,
                url,
                headers: map("handler.headers", headers)?,
            }),
            HandlerInput::Command { program, args, env, working_dir, shell } => {
                HandlerSpec::Command(CommandSpec {
                    program,
                    args,
                    env: map("handler.env", env)?,
                    working_dir: working_dir
                        .filter(|dir| !dir.trim().is_empty())
                        .map(PathBuf::from),
                    shell,
                    // Not edited in the console yet: limits, run-as user and stdin text are
                    // set with `rota apply` or the CLI.
                    limits: None,
                    run_as: None,
                    stdin: None,
                })
            }
            HandlerInput::Named { name } => HandlerSpec::Named { name },
        })
    }
}

impl JobInput {
    fn into_definition(self) -> Result<JobDefinition, CommandError> {
        Ok(JobDefinition {
            name: self.name,
            schedule: self.schedule,
            timezone: self.timezone,
            handler: self.handler.into_spec()?,
            payload: rota::api::parse_payload(&self.payload)?,
            timeout: Duration::from_secs(u64::from(self.timeout_seconds)),
        })
    }
}

impl From<Job> for JobDetail {
    fn from(job: Job) -> Self {
        let state = job_state(&job);
        JobDetail {
            id: job.id.to_string(),
            tenant: job.tenant,
            version: job.version.to_string(),
            state,
            disabled_reason: job.disabled_reason,
            consecutive_failures: job.consecutive_failures,
            next_run_at: optional_instant(job.next_run_at),
            last_run_at: optional_instant(job.last_run_at),
            created_at: instant(job.created_at),
            updated_at: instant(job.updated_at),
            paused: job.paused,
            last_error: job.last_error,
            on_probation: job.on_probation,
            enabled_by: job.enabled_by,
            definition: JobInput {
                name: job.name,
                schedule: job.schedule,
                timezone: job.timezone,
                handler: job.handler.into(),
                // Pretty-printed, as people edit it.
                payload: serde_json::to_string_pretty(&job.payload).unwrap_or_default(),
                timeout_seconds: u32::try_from(job.timeout.as_secs()).unwrap_or(u32::MAX),
            },
        }
    }
}

impl From<Job> for JobRow {
    fn from(job: Job) -> Self {
        JobRow {
            id: job.id.to_string(),
            state: job_state(&job),
            handler: handler_kind(&job.handler),
            tenant: job.tenant,
            name: job.name,
            schedule: job.schedule,
            timezone: job.timezone,
            disabled_reason: job.disabled_reason,
            consecutive_failures: job.consecutive_failures,
            next_run_at: optional_instant(job.next_run_at),
            last_run_at: optional_instant(job.last_run_at),
            updated_at: instant(job.updated_at),
        }
    }
}

impl From<JobQuery> for CoreJobQuery {
    fn from(query: JobQuery) -> Self {
        CoreJobQuery {
            search: query.search.filter(|text| !text.trim().is_empty()),
            tenant: query.tenant.filter(|tenant| !tenant.is_empty()),
            state: query.state.map(|state| match state {
                JobState::Enabled => CoreJobState::Enabled,
                JobState::Disabled => CoreJobState::Disabled,
                JobState::AutoDisabled => CoreJobState::AutoDisabled,
            }),
            handler_kind: query.handler.map(|kind| match kind {
                HandlerKind::Http => "http",
                HandlerKind::Command => "command",
                HandlerKind::Named => "named",
            }),
            sort: match query.sort {
                JobSort::Name => CoreJobSort::Name,
                JobSort::Tenant => CoreJobSort::Tenant,
                JobSort::NextRun => CoreJobSort::NextRun,
                JobSort::LastRun => CoreJobSort::LastRun,
                JobSort::Failures => CoreJobSort::Failures,
                JobSort::Updated => CoreJobSort::Updated,
            },
            descending: query.descending,
            offset: query.offset,
            limit: query.limit,
        }
    }
}

impl From<CoreJobPage> for JobPage {
    fn from(page: CoreJobPage) -> Self {
        JobPage {
            rows: page.jobs.into_iter().map(JobRow::from).collect(),
            total: u32::try_from(page.total).unwrap_or(u32::MAX),
        }
    }
}

/// One page of jobs.
#[tauri::command]
#[specta::specta]
pub async fn list_jobs(
    console: State<'_, Console>,
    query: JobQuery,
) -> Result<JobPage, CommandError> {
    let rota = console.rota().await?;
    Ok(rota.job_page(&query.into()).await?.into())
}

#[tauri::command]
#[specta::specta]
pub async fn get_job(console: State<'_, Console>, id: String) -> Result<JobDetail, CommandError> {
    let rota = console.rota().await?;
    Ok(rota.job_by_id(parse_id(&id)?).await?.into())
}

#[tauri::command]
#[specta::specta]
pub async fn create_job(
    console: State<'_, Console>,
    tenant: String,
    input: JobInput,
) -> Result<JobDetail, CommandError> {
    let rota = console.rota().await?;
    let job = rota.add_job(&tenant, &input.into_definition()?).await?;
    console.schedules_changed().await;
    Ok(job.into())
}

/// Saves an edit made on `expectedVersion`; if the job changed since, nothing is saved and the
/// error (code `stale_version`) carries the current version, which `get_job` shows.
#[tauri::command]
#[specta::specta]
pub async fn update_job(
    console: State<'_, Console>,
    id: String,
    expected_version: String,
    input: JobInput,
) -> Result<JobDetail, CommandError> {
    let rota = console.rota().await?;
    let expected = expected_version
        .parse::<i64>()
        .map_err(|_| CommandError::invalid("expectedVersion", "not a version number"))?;
    let job = rota.update_job(parse_id(&id)?, expected, &input.into_definition()?).await?;
    console.schedules_changed().await;
    Ok(job.into())
}
