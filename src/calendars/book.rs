//! The parsed calendars a process keeps (the engine, the forecast, the console's previews):
//! each calendar parsed once per version, and a job's [`CalendarRule`] built from its names.

use std::collections::HashMap;
use std::sync::Arc;

use uuid::Uuid;

use super::events::Calendar;
use super::rule::{CalendarRule, NamedCalendar};
use super::StoredCalendar;
use crate::policy::JobPolicy;

/// What says whether a parsed copy of a calendar is current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarVersion {
    pub id: Uuid,
    pub tenant_id: Option<Uuid>,
    pub name: String,
    pub version: i64,
}

#[derive(Debug, Clone)]
struct Entry {
    tenant_id: Option<Uuid>,
    name: String,
    version: i64,
    calendar: Arc<Calendar>,
}

/// Parsed calendars by id.
#[derive(Debug, Clone, Default)]
pub struct CalendarBook {
    entries: HashMap<Uuid, Entry>,
}

impl CalendarBook {
    /// The ids among `versions` whose parsed copy is missing or older; calendars gone from
    /// `versions` are forgotten.
    pub fn stale(&mut self, versions: &[CalendarVersion]) -> Vec<Uuid> {
        self.entries.retain(|id, _| versions.iter().any(|version| version.id == *id));
        versions
            .iter()
            .filter(|version| {
                self.entries.get(&version.id).is_none_or(|entry| entry.version != version.version)
            })
            .map(|version| version.id)
            .collect()
    }

    /// Keeps the parsed copy of `stored`. A text that no longer parses (it was checked when
    /// stored, so only a hand edit of the database does this) counts as an empty calendar; the
    /// error is returned for the caller to log.
    pub fn insert(&mut self, stored: &StoredCalendar) -> Option<super::CalendarError> {
        let (calendar, error) = match stored.parse() {
            Ok(calendar) => (calendar, None),
            Err(error) => (Calendar::default(), Some(error)),
        };
        self.entries.insert(
            stored.id,
            Entry {
                tenant_id: stored.tenant_id,
                name: stored.name.clone(),
                version: stored.version,
                calendar: Arc::new(calendar),
            },
        );
        error
    }

    /// The calendar a job of `tenant_id` means by `name`: its tenant's, else the shared one.
    pub fn named(&self, tenant_id: Uuid, name: &str) -> Option<NamedCalendar> {
        let find = |scope: Option<Uuid>| {
            self.entries.values().find(|entry| entry.tenant_id == scope && entry.name == name)
        };
        find(Some(tenant_id)).or_else(|| find(None)).map(|entry| NamedCalendar {
            name: entry.name.clone(),
            calendar: Arc::clone(&entry.calendar),
        })
    }

    /// A job's rule, or `None` when it has no calendars. A calendar it names that does not
    /// exist (removed behind its back) is empty: it excludes nothing, or, as an only-calendar,
    /// allows nothing; its name is returned for the caller to log.
    pub fn rule(&self, tenant_id: Uuid, policy: &JobPolicy) -> (Option<CalendarRule>, Vec<String>) {
        if policy.exclude_calendars.is_empty() && policy.only_calendar.is_none() {
            return (None, Vec::new());
        }
        let mut missing = Vec::new();
        let mut resolve = |name: &str| {
            self.named(tenant_id, name).unwrap_or_else(|| {
                missing.push(name.to_owned());
                NamedCalendar { name: name.to_owned(), calendar: Arc::new(Calendar::default()) }
            })
        };
        let exclude = policy.exclude_calendars.iter().map(|name| resolve(name)).collect();
        let only = policy.only_calendar.as_deref().map(&mut resolve);
        (Some(CalendarRule { exclude, only, on_excluded: policy.on_excluded }), missing)
    }
}
