//! Jobs: a schedule in a time zone plus what to run, owned by a tenant.

use crate::text_enum::text_enum;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cron::Schedule;
use crate::error::{Error, Result};
use crate::handler::HandlerSpec;
use crate::policy::JobPolicy;
use crate::tenant::validate_name;

/// Default timeout when a job does not set one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest timeout a job may have; a run that needs longer is a different kind of workload.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: Uuid,
    pub tenant_id: Uuid,
    /// The owning tenant's name, joined in for display.
    pub tenant: String,
    pub name: String,
    pub schedule: String,
    pub timezone: String,
    pub handler: HandlerSpec,
    pub payload: serde_json::Value,
    pub timeout: Duration,
    pub enabled: bool,
    /// Who disabled the job, while it is disabled.
    pub disabled_by: Option<DisabledBy>,
    /// Why the job is disabled: what the person who disabled it wrote, or
    /// [`crate::store::AUTO_DISABLED_REASON`] when Rota disabled it after failures (see
    /// `last_error`).
    pub disabled_reason: Option<String>,
    /// Failed occurrences (retries exhausted) in a row.
    pub consecutive_failures: u32,
    /// The error of the last failed occurrence.
    pub last_error: Option<String>,
    /// Who enabled the job last (`rota job enable --operator`).
    pub enabled_by: Option<String>,
    /// Re-enabled on probation: the next failed occurrence disables it again.
    pub on_probation: bool,
    /// A paused job is not due; what it missed is recorded per its missed policy on resume.
    pub paused: bool,
    /// Its tenant is paused: none of the tenant's runs start until it is resumed. Read with
    /// the job for the screens that say why a job will not run; not part of the job's record
    /// (audit snapshots and exports leave it out).
    #[serde(skip)]
    pub tenant_paused: bool,
    pub paused_at: Option<DateTime<Utc>>,
    pub resumed_at: Option<DateTime<Utc>>,
    pub policy: JobPolicy,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Incremented by every change; an edit based on an older version is refused.
    pub version: i64,
}

impl Job {
    /// The parsed schedule. Stored jobs were validated on the way in, so an error here means the
    /// row was edited behind Rota's back (or the time-zone database lost a zone).
    pub fn parsed_schedule(&self) -> Result<Schedule> {
        Ok(Schedule::parse(&self.schedule, &self.timezone)?)
    }

    /// What an editor edits of this job.
    pub fn definition(&self) -> JobDefinition {
        JobDefinition {
            name: self.name.clone(),
            schedule: self.schedule.clone(),
            timezone: self.timezone.clone(),
            handler: self.handler.clone(),
            payload: self.payload.clone(),
            timeout: self.timeout,
        }
    }
}

/// The editable definition of a job: what `rota job add` and the console's editor provide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobDefinition {
    pub name: String,
    pub schedule: String,
    pub timezone: String,
    pub handler: HandlerSpec,
    pub payload: serde_json::Value,
    pub timeout: Duration,
}

impl JobDefinition {
    /// Checks every field and returns the parsed schedule; the error names the field.
    pub fn validate(&self) -> Result<Schedule> {
        validate_name("job name", &self.name)?;
        let schedule = Schedule::parse(&self.schedule, &self.timezone)?;
        self.handler.validate().map_err(crate::handler::HandlerSpecError::into_field_error)?;
        if self.timeout.is_zero() || self.timeout > MAX_TIMEOUT {
            return Err(Error::invalid(
                "timeout",
                format!("{}s", self.timeout.as_secs_f64()),
                format!("allowed 1s-{}s", MAX_TIMEOUT.as_secs()),
            ));
        }
        Ok(schedule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::{CommandSpec, HttpSpec};

    fn definition(handler: HandlerSpec) -> JobDefinition {
        JobDefinition {
            name: "job".into(),
            schedule: "@hourly".into(),
            timezone: "UTC".into(),
            handler,
            payload: serde_json::Value::Null,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    fn field_and_message(handler: HandlerSpec) -> (String, String) {
        let error = definition(handler).validate().unwrap_err();
        let message = error.to_string();
        match error {
            Error::Invalid { field, .. } => (field, message),
            other => panic!("not a validation error: {other}"),
        }
    }

    #[test]
    fn handler_errors_name_the_sub_field_and_the_value() {
        let (field, message) =
            field_and_message(HandlerSpec::Http(HttpSpec::post("ftp://x.test/")));
        assert_eq!(field, "handler.url");
        assert!(message.starts_with("handler.url: \"ftp://x.test/\" is invalid: "), "{message}");
        assert!(message.contains("only http and https"), "{message}");
        let (field, _) = field_and_message(HandlerSpec::Command(CommandSpec::new(" ", ["a"])));
        assert_eq!(field, "handler.program");
        let mut relative = CommandSpec::new("/bin/true", Vec::<String>::new());
        relative.working_dir = Some("tmp".into());
        let (field, message) = field_and_message(HandlerSpec::Command(relative));
        assert_eq!(
            (field.as_str(), message.as_str()),
            (
                "handler.working_dir",
                "handler.working_dir: \"tmp\" is invalid: \"tmp\" must be an absolute path"
            )
        );
        let (field, _) = field_and_message(HandlerSpec::Named { name: "-bad".into() });
        assert_eq!(field, "handler.name");
    }
}

/// Who disabled a job. Stored as text under a `CHECK` (`jobs.disabled_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisabledBy {
    /// A person (`rota job disable`, the console).
    Person,
    /// Rota, after consecutive failed occurrences or a failure on probation.
    Engine,
}

text_enum!(DisabledBy, "disabled_by", { Person => "person", Engine => "engine" });
