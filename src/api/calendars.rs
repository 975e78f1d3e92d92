//! Calendars: named holiday and blackout calendars, per tenant or shared, and the rule a job's
//! calendars make.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Rota;
use crate::access::Capability;
use crate::calendars::{
    dates_calendar, parse_ics, validate_name, CalendarBook, CalendarRule, StoredCalendar,
    Timetable, MAX_SOURCE_BYTES,
};
use crate::cron::Schedule;
use crate::error::{Error, Result};
use crate::policy::JobPolicy;
use crate::store::Store;

use super::access::in_tenant;

/// What a calendar is made of: an iCalendar file's text, or whole days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalendarSource {
    Ics(String),
    /// Dates and inclusive ranges of dates.
    Days {
        dates: Vec<chrono::NaiveDate>,
        ranges: Vec<(chrono::NaiveDate, chrono::NaiveDate)>,
    },
}

impl CalendarSource {
    /// The text to store, checked: a file that does not parse is refused with its line and
    /// property, and nothing is stored.
    pub(crate) fn checked_text(&self, name: &str) -> Result<String> {
        let text = match self {
            CalendarSource::Ics(text) => text.clone(),
            CalendarSource::Days { dates, ranges } => {
                if dates.is_empty() && ranges.is_empty() {
                    return Err(Error::invalid(
                        "calendar",
                        name,
                        "has no days; allowed: --ics FILE, or --date and --range",
                    ));
                }
                for (from, to) in ranges {
                    if from > to {
                        return Err(Error::invalid(
                            "range",
                            format!("{from}..{to}"),
                            "ends before it starts; allowed FROM..TO with FROM on or before TO",
                        ));
                    }
                }
                dates_calendar(dates, ranges)
            }
        };
        if text.len() > MAX_SOURCE_BYTES {
            return Err(Error::invalid(
                "ics",
                format!("{} bytes", text.len()),
                format!("allowed at most {MAX_SOURCE_BYTES} bytes"),
            ));
        }
        parse_ics(&text).map_err(|source| Error::Calendar { name: name.to_owned(), source })?;
        Ok(text)
    }
}

impl<S: Store> Rota<S> {
    /// The tenant's id for a tenant-owned calendar, after checking the caller may `needed`
    /// there; `None` (a shared calendar) needs an admin to change and anyone to read.
    async fn calendar_scope(
        &self,
        tenant: Option<&str>,
        needed: Capability,
    ) -> Result<Option<Uuid>> {
        match tenant {
            Some(tenant) => {
                self.require(needed, tenant).await?;
                Ok(Some(self.store.tenant_by_name(tenant).await?.id))
            }
            None if needed == Capability::View => Ok(None),
            None => {
                self.require_admin().await?;
                Ok(None)
            }
        }
    }

    /// Adds a calendar to a tenant, or a shared one (`tenant` `None`: admins only).
    pub async fn add_calendar(
        &self,
        tenant: Option<&str>,
        name: &str,
        source: &CalendarSource,
    ) -> Result<StoredCalendar> {
        validate_name("calendar name", name)?;
        let text = source.checked_text(name)?;
        let scope = self.calendar_scope(tenant, Capability::Edit).await?;
        self.store
            .create_calendar(scope, name, &text, &self.operator, self.now())
            .await
            .map_err(in_tenant(Capability::Edit, tenant.unwrap_or_default()))
    }

    /// Replaces a calendar's days; the jobs that use it follow from their next tick.
    pub async fn update_calendar(
        &self,
        tenant: Option<&str>,
        name: &str,
        source: &CalendarSource,
    ) -> Result<StoredCalendar> {
        let text = source.checked_text(name)?;
        let scope = self.calendar_scope(tenant, Capability::Edit).await?;
        let current = self.stored_calendar(scope, name).await?;
        let updated = self
            .store
            .update_calendar(current.id, &text, &self.operator, self.now())
            .await
            .map_err(in_tenant(Capability::Edit, tenant.unwrap_or_default()))?;
        self.reschedule_users(&updated).await?;
        Ok(updated)
    }

    /// Removes a calendar no job uses (a job's calendars are changed first, so nothing runs on
    /// a day it was kept off by surprise).
    pub async fn remove_calendar(&self, tenant: Option<&str>, name: &str) -> Result<()> {
        let scope = self.calendar_scope(tenant, Capability::Edit).await?;
        let current = self.stored_calendar(scope, name).await?;
        let users = self.calendar_users(&current).await?;
        if !users.is_empty() {
            return Err(Error::invalid(
                "calendar",
                name,
                format!(
                    "is used by job(s) {}; allowed: a calendar no job names (change their \
                     calendars first)",
                    users.join(", ")
                ),
            ));
        }
        self.store
            .delete_calendar(current.id, &self.operator, self.now())
            .await
            .map_err(in_tenant(Capability::Edit, tenant.unwrap_or_default()))
    }

    /// One calendar: a tenant's, or a shared one.
    pub async fn calendar(&self, tenant: Option<&str>, name: &str) -> Result<StoredCalendar> {
        let scope = self.calendar_scope(tenant, Capability::View).await?;
        self.stored_calendar(scope, name).await
    }

    /// A tenant's calendars with the shared ones, or every calendar the caller may see.
    pub async fn list_calendars(&self, tenant: Option<&str>) -> Result<Vec<StoredCalendar>> {
        let scope = self.calendar_scope(tenant, Capability::View).await?;
        self.store.list_calendars(scope).await
    }

    async fn stored_calendar(&self, scope: Option<Uuid>, name: &str) -> Result<StoredCalendar> {
        self.store
            .calendar_named(scope, name)
            .await?
            .ok_or_else(|| Error::NotFound { what: "calendar", key: name.to_owned() })
    }

    /// The jobs (`tenant/name`) whose calendars mean `calendar`: they name it, and for a shared
    /// calendar their tenant has no calendar of its own by that name.
    async fn calendar_users(&self, calendar: &StoredCalendar) -> Result<Vec<String>> {
        let mut users = Vec::new();
        for job in self.jobs_naming(calendar).await? {
            if calendar.tenant_id.is_none()
                && self.store.calendar_named(Some(job.tenant_id), &calendar.name).await?.is_some()
            {
                continue;
            }
            users.push(format!("{}/{}", job.tenant, job.name));
        }
        Ok(users)
    }

    /// The jobs in the calendar's scope (its tenant, or every tenant) whose calendars name it.
    async fn jobs_naming(&self, calendar: &StoredCalendar) -> Result<Vec<crate::job::Job>> {
        self.store.jobs_naming_calendar(calendar.tenant_id, &calendar.name).await
    }

    /// After a calendar changed, the jobs that use it move their next run instant to their
    /// next slot (a day that became excluded, or a move that now comes earlier).
    async fn reschedule_users(&self, calendar: &StoredCalendar) -> Result<()> {
        for job in self.jobs_naming(calendar).await? {
            if !job.enabled {
                continue;
            }
            let Ok(schedule) = job.parsed_schedule() else { continue };
            let next = self.next_slot(job.tenant_id, &schedule, &job.policy, self.now()).await?;
            if let Some(next) = next {
                self.store.bring_next_run_forward(job.id, next).await?;
            }
        }
        Ok(())
    }

    /// The calendars that jobs of these tenants with these policies name, each read once (the
    /// tenant's own, else the shared one of that name); a name that exists in neither is
    /// refused, naming it.
    pub(super) async fn calendars_named_by<'p>(
        &self,
        jobs: impl IntoIterator<Item = (Uuid, &'p JobPolicy)>,
    ) -> Result<CalendarBook> {
        let mut book = CalendarBook::default();
        let mut read = std::collections::HashSet::new();
        for (tenant_id, policy) in jobs {
            let names = policy.exclude_calendars.iter().chain(policy.only_calendar.iter());
            for name in names {
                if !read.insert((tenant_id, name.as_str())) {
                    continue;
                }
                let found = match self.store.calendar_named(Some(tenant_id), name).await? {
                    Some(found) => found,
                    None => self.store.calendar_named(None, name).await?.ok_or_else(|| {
                        Error::NotFound { what: "calendar", key: name.to_owned() }
                    })?,
                };
                book.insert(&found);
            }
        }
        Ok(book)
    }

    /// The calendar rule of a job of `tenant_id` with `policy`; a calendar it names that does
    /// not exist (in the tenant or shared) is refused, naming it.
    pub async fn calendar_rule(
        &self,
        tenant_id: Uuid,
        policy: &JobPolicy,
    ) -> Result<Option<CalendarRule>> {
        let book = self.calendars_named_by([(tenant_id, policy)]).await?;
        Ok(book.rule(tenant_id, policy).0)
    }

    /// A job's next run instant after `now`, honouring its calendars (see [`next_run_at`]);
    /// reads the calendars it names, refusing one that does not exist.
    pub(super) async fn next_slot(
        &self,
        tenant_id: Uuid,
        schedule: &Schedule,
        policy: &JobPolicy,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>> {
        let book = self.calendars_named_by([(tenant_id, policy)]).await?;
        Ok(next_run_at(&book, tenant_id, schedule, policy, now))
    }
}

/// The one rule for a job's next run instant after `now`: the first slot of its
/// [`Timetable`] (a run; a run its calendars moved here from another day; or an
/// occurrence they exclude, which the tick records as skipped), as the engine's tick computes
/// it. Every write of `jobs.next_run_at` outside the tick comes from here: create, edit,
/// enable (one job or many), a change of a calendar or of a job's calendars. (Pausing and
/// resuming keep the instant: the tick then walks the slots since it.)
pub(super) fn next_run_at(
    book: &CalendarBook,
    tenant_id: Uuid,
    schedule: &Schedule,
    policy: &JobPolicy,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let (rule, _) = book.rule(tenant_id, policy);
    Timetable::new(schedule, rule.as_ref()).next_slot_after(now).map(|slot| slot.at)
}
