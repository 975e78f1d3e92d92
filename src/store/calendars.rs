//! Calendars: named holiday and blackout calendars, per tenant or shared.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::calendars::StoredCalendar;
use crate::error::Result;
use crate::job::Job;

pub use crate::calendars::CalendarVersion;

store_concern! {
    /// Calendars: named holiday and blackout calendars, per tenant or shared (`tenant_id`
    /// `None`). A name is unique within its tenant, and among the shared calendars.
    pub trait CalendarStore {
        /// Stores a new calendar, with a `calendar.created` audit entry naming `operator`;
        /// [`crate::Error::AlreadyExists`] when the name is taken there.
        fn create_calendar(&self, tenant_id: Option<Uuid>, name: &str, source: &str, operator: &str, now: DateTime<Utc>) -> Result<StoredCalendar>;

        /// Replaces a calendar's text (its version goes up), with a `calendar.updated` entry.
        fn update_calendar(&self, id: Uuid, source: &str, operator: &str, now: DateTime<Utc>) -> Result<StoredCalendar>;

        /// Removes a calendar, with a `calendar.removed` entry.
        fn delete_calendar(&self, id: Uuid, operator: &str, now: DateTime<Utc>) -> Result<()>;

        /// The calendar named `name` in a tenant (or among the shared ones for `None`).
        fn calendar_named(&self, tenant_id: Option<Uuid>, name: &str) -> Result<Option<StoredCalendar>>;

        fn calendar(&self, id: Uuid) -> Result<StoredCalendar>;

        /// A tenant's calendars and the shared ones (`None`: every calendar the caller sees),
        /// shared first, then by tenant and name.
        fn list_calendars(&self, tenant_id: Option<Uuid>) -> Result<Vec<StoredCalendar>>;

        /// The jobs (of a tenant, or of every tenant for `None`) whose calendars name `name`.
        fn jobs_naming_calendar(&self, tenant_id: Option<Uuid>, name: &str) -> Result<Vec<Job>>;

        /// Moves an enabled job's next run instant earlier, to `at` (a calendar or a job's
        /// calendars changed so that a slot comes sooner); a later `at` changes nothing, as the
        /// tick records what a calendar excludes when it gets there.
        fn bring_next_run_forward(&self, job_id: Uuid, at: DateTime<Utc>) -> Result<()>;

        /// Every calendar's id, scope, name and version, for the engine's cache.
        fn calendar_versions(&self) -> Result<Vec<CalendarVersion>>;
    }
}
