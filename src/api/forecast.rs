//! The load forecast over the fleet (see [`crate::forecast`]): the jobs and calendars read
//! from the store, the starts computed by the pure module.

use super::Rota;
use crate::access::Capability;
use crate::calendars::{CalendarBook, CalendarRule};
use crate::cron::Schedule;
use crate::error::{Error, Result};
use crate::policy::JobPolicy;
use crate::store::{JobQuery, JobStateFilter, Store};

/// The longest forecast: a week.
pub const MAX_FORECAST_HOURS: u32 = 24 * 7;

impl<S: Store> Rota<S> {
    /// When the enabled, unpaused jobs (of `tenant`, or of every tenant the caller sees) start
    /// from now for `hours`, with their zones, jitter and calendars; `extra` adds a job that
    /// is not saved yet (the console's what-if: a job being edited, as `(tenant, name,
    /// schedule, policy)`), replacing the saved job of that name.
    pub async fn forecast(
        &self,
        tenant: Option<&str>,
        hours: u32,
        extra: Option<(&str, &str, &Schedule, &JobPolicy)>,
    ) -> Result<crate::forecast::Forecast> {
        if !(1..=MAX_FORECAST_HOURS).contains(&hours) {
            return Err(Error::invalid("hours", hours, format!("allowed 1-{MAX_FORECAST_HOURS}")));
        }
        if let Some(tenant) = tenant {
            self.require(Capability::View, tenant).await?;
        }
        let now = self.now();
        let to = now + chrono::Duration::hours(i64::from(hours));
        // Every calendar the caller sees, parsed once.
        let mut book = CalendarBook::default();
        for stored in self.store.list_calendars(None).await? {
            book.insert(&stored);
        }
        let mut jobs = Vec::new();
        let mut query = JobQuery {
            tenant: tenant.map(str::to_owned),
            state: Some(JobStateFilter::Enabled),
            limit: 10_000,
            ..JobQuery::default()
        };
        loop {
            let page = self.store.job_page(&query).await?;
            jobs.extend(page.jobs.into_iter().filter(|job| !job.paused && !job.tenant_paused));
            match page.next {
                Some(next) => query.after = Some(next),
                None => break,
            }
        }
        let extra_key = extra.map(|(tenant, name, _, _)| (tenant.to_owned(), name.to_owned()));
        jobs.retain(|job| extra_key.as_ref() != Some(&(job.tenant.clone(), job.name.clone())));
        let schedules: Vec<Option<Schedule>> =
            jobs.iter().map(|job| job.parsed_schedule().ok()).collect();
        let rules: Vec<Option<CalendarRule>> =
            jobs.iter().map(|job| book.rule(job.tenant_id, &job.policy).0).collect();
        let mut inputs: Vec<crate::forecast::ForecastJob<'_>> = jobs
            .iter()
            .zip(&schedules)
            .zip(&rules)
            .filter_map(|((job, schedule), rule)| {
                Some(crate::forecast::ForecastJob {
                    tenant: &job.tenant,
                    name: format!("{}/{}", job.tenant, job.name),
                    schedule: schedule.as_ref()?,
                    rule: rule.as_ref(),
                    offset: job.policy.start_offset(job.id),
                    jittered: job.policy.jitter_window.is_some(),
                })
            })
            .collect();
        let (extra_rule, extra_offset) = match extra {
            Some((tenant, name, _, policy)) => {
                let tenant_id = self.store.tenant_by_name(tenant).await?.id;
                let rule = self.calendar_rule(tenant_id, policy).await?;
                (rule, self.edited_job_offset(tenant, name, policy).await?)
            }
            None => (None, std::time::Duration::ZERO),
        };
        if let Some((tenant, name, schedule, policy)) = extra {
            inputs.push(crate::forecast::ForecastJob {
                tenant,
                name: format!("{tenant}/{name}"),
                schedule,
                rule: extra_rule.as_ref(),
                offset: extra_offset,
                jittered: policy.jitter_window.is_some(),
            });
        }
        Ok(crate::forecast::forecast(&inputs, now, to))
    }

    /// How long after each slot a job being edited starts, with `policy`'s jitter window: a
    /// saved job's own stable offset (its id decides it, as the engine's tick does, so the
    /// what-if shows the instants its runs will be ready at); a job not saved yet has no id,
    /// and is shown at its window's middle.
    async fn edited_job_offset(
        &self,
        tenant: &str,
        name: &str,
        policy: &JobPolicy,
    ) -> Result<std::time::Duration> {
        let Some(window) = policy.jitter_window else { return Ok(std::time::Duration::ZERO) };
        match self.store.job_by_name(tenant, name).await {
            Ok(saved) => Ok(policy.start_offset(saved.id)),
            Err(Error::NotFound { .. }) => Ok(window / 2),
            Err(error) => Err(error),
        }
    }
}

/// How many of an edited job's next starts the what-if shows.
pub const WHAT_IF_STARTS: usize = 5;

/// The console's what-if for a job being edited: its next starts in the coming day, each with
/// the starts around it (fleet and tenant) with this job added, and a jitter window that would
/// spread the herd it joins.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WhatIf {
    pub starts: Vec<crate::forecast::WhatIfStart>,
    /// When a start joins a herd: the window that spreads the largest one it joins.
    pub suggested_jitter_window_seconds: Option<u64>,
}

impl<S: Store> Rota<S> {
    /// See [`WhatIf`]. `name` is the job's name (an existing job of that name is replaced by
    /// the edited one).
    pub async fn what_if(
        &self,
        tenant: &str,
        name: &str,
        schedule: &Schedule,
        policy: &JobPolicy,
    ) -> Result<WhatIf> {
        self.require(Capability::View, tenant).await?;
        let forecast = self.forecast(None, 24, Some((tenant, name, schedule, policy))).await?;
        let tenant_id = self.store.tenant_by_name(tenant).await?.id;
        let rule = self.calendar_rule(tenant_id, policy).await?;
        let offset =
            chrono::Duration::from_std(self.edited_job_offset(tenant, name, policy).await?)
                .unwrap_or_default();
        let timetable = crate::calendars::Timetable::new(schedule, rule.as_ref());
        let starts: Vec<chrono::DateTime<chrono::Utc>> = timetable
            .runs_after(forecast.from - offset, forecast.to - forecast.from)
            .map(|slot| slot.at + offset)
            .filter(|at| *at >= forecast.from && *at < forecast.to)
            .take(WHAT_IF_STARTS)
            .collect();
        let starts = forecast.crowding(tenant, &starts);
        let suggested = starts
            .iter()
            .filter(|start| start.herd)
            .map(|start| crate::forecast::suggested_window(start.same_second))
            .max();
        Ok(WhatIf { starts, suggested_jitter_window_seconds: suggested })
    }
}
