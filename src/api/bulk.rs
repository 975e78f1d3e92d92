//! Bulk actions over many jobs: pause, resume, enable or disable every job of a selection (the
//! rows a person ticked, or every job matching the jobs table's filters) in one action, one
//! audit entry per job changed, all or nothing.

use std::collections::{BTreeSet, HashMap};

use super::calendars::next_run_at;
use super::Rota;
use crate::access::Capability;
use crate::calendars::CalendarBook;
use crate::cron::Schedule;
use crate::error::{Error, Result};
use crate::job::Job;
use crate::store::{BulkJobAction, BulkJobChange, JobSelection, Store};

/// The most jobs one bulk action covers; a selection of more is refused, asking to narrow it.
pub const MAX_BULK_JOBS: u32 = 100_000;

/// What a bulk action did.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkReport {
    pub action: BulkJobAction,
    /// Jobs the selection covered.
    pub selected: u64,
    /// The jobs changed, as they are now (the others were in the state asked for already).
    pub changed: Vec<Job>,
}

impl<S: Store> Rota<S> {
    /// Applies `action` to every job of `selection` that is not in that state already, in one
    /// transaction with one statement for all of them, and one audit entry per changed job
    /// (`enable` also writes each job's `job.re_enabled` event, and puts it on probation when
    /// `probation` or its policy says so). Every tenant whose jobs would change needs
    /// `operate`: a refusal names the first tenant the role lacks it in, and nothing changes.
    /// A job changed by someone else in between fails the whole action
    /// ([`Error::StaleVersion`]), so nothing is half done.
    pub async fn bulk_jobs(
        &self,
        selection: &JobSelection,
        action: BulkJobAction,
        probation: bool,
    ) -> Result<BulkReport> {
        match selection {
            JobSelection::Ids(ids) if ids.is_empty() => {
                return Err(Error::invalid("jobs", "(none)", "select at least one job"));
            }
            JobSelection::Ids(ids) if ids.len() > MAX_BULK_JOBS as usize => {
                return Err(Error::invalid(
                    "jobs",
                    ids.len(),
                    format!("at most {MAX_BULK_JOBS} jobs at once"),
                ));
            }
            JobSelection::Matching(filters)
                if filters.search.as_ref().is_some_and(|search| search.chars().count() > 200) =>
            {
                return Err(Error::invalid(
                    "search",
                    "(long text)",
                    "must be at most 200 characters",
                ));
            }
            _ => {}
        }
        let jobs = self.store.select_jobs(selection, MAX_BULK_JOBS + 1).await?;
        if jobs.len() > MAX_BULK_JOBS as usize {
            return Err(Error::invalid(
                "jobs",
                format!("more than {MAX_BULK_JOBS}"),
                format!("at most {MAX_BULK_JOBS} jobs at once; narrow the filters"),
            ));
        }
        let selected = jobs.len() as u64;
        let now = self.now();
        // Enabling restarts each job's schedule: the calendars the jobs name are read once.
        let calendars = match action {
            BulkJobAction::Enable => {
                // Collected first: an iterator of closures held across the await would keep
                // the future from being provably `Send` (the console's command needs it).
                let disabled: Vec<(uuid::Uuid, &crate::policy::JobPolicy)> = jobs
                    .iter()
                    .filter(|job| !job.enabled)
                    .map(|job| (job.tenant_id, &job.policy))
                    .collect();
                self.calendars_named_by(disabled).await?
            }
            _ => CalendarBook::default(),
        };
        // Parsed once per distinct schedule and zone: a fleet shares a few schedules, and
        // parsing was most of an enable's own work (1.2 s of 10,000 jobs in a debug build).
        let mut schedules: HashMap<(String, String), Schedule> = HashMap::new();
        let mut changes = Vec::new();
        for job in jobs {
            let changes_it = match action {
                BulkJobAction::Pause => !job.paused,
                BulkJobAction::Resume => job.paused,
                BulkJobAction::Enable => !job.enabled,
                BulkJobAction::Disable => job.enabled,
            };
            if !changes_it {
                continue;
            }
            let (next_run_at, probation) = if action == BulkJobAction::Enable {
                // As for one job: the schedule restarts from now (no burst for the time it
                // was off), at its next slot with its calendars.
                let key = (job.schedule.clone(), job.timezone.clone());
                if !schedules.contains_key(&key) {
                    schedules.insert(key.clone(), job.parsed_schedule()?);
                }
                let schedule = &schedules[&key];
                let next = next_run_at(&calendars, job.tenant_id, schedule, &job.policy, now);
                (next, probation || job.policy.probation)
            } else {
                (None, false)
            };
            changes.push(BulkJobChange { job, next_run_at, probation });
        }
        let tenants: BTreeSet<&str> =
            changes.iter().map(|change| change.job.tenant.as_str()).collect();
        for tenant in &tenants {
            self.require(Capability::Operate, tenant).await?;
        }
        let changed = self
            .store
            .bulk_update_jobs(action, &changes, &self.operator, now)
            .await
            .map_err(|error| match (error, tenants.iter().next()) {
                // A grant revoked since the check: the database refused the statement.
                (Error::Forbidden { .. }, Some(tenant)) if tenants.len() == 1 => Error::Forbidden {
                    capability: Capability::Operate,
                    tenant: Some((*tenant).to_owned()),
                },
                (error, _) => error,
            })?;
        tracing::info!(
            action = ?action,
            selected,
            changed = changed.len(),
            tenants = tenants.len(),
            "bulk job action"
        );
        Ok(BulkReport { action, selected, changed })
    }
}
