//! The audit log: who changed what, when, with the record before and after the change.
//!
//! Entries are written by the store in the same transaction as the change they describe, so a
//! change that fails (invalid input, a stale version) leaves none, and one that commits always
//! has one. Every change made through [`crate::api::Rota`] (the CLI, the desktop console, the
//! schedule files and the crontab import) names the operator the `Rota` was built with
//! ([`crate::api::Rota::with_operator`]); the engine's own changes (auto-disable) name
//! [`ENGINE_OPERATOR`].
//!
//! The log is append-only: Rota has no operation that changes or deletes an entry, retention
//! (`rota runs prune`) does not touch it, and the database refuses `UPDATE` and `DELETE` on the
//! table (a trigger in both dialects).
//!
//! Snapshots never hold secrets: values under names that look secret (`Authorization`,
//! `*_TOKEN`, `webhook_secret`, ...) are replaced by [`SECRET`], and URLs are shown as
//! [`crate::redact::url`] shows them (password, secret query values).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::calendars::StoredCalendar;
use crate::job::Job;
use crate::tenant::Tenant;
use crate::text_enum::text_enum;

/// The operator recorded for the engine's own changes (auto-disable).
pub const ENGINE_OPERATOR: &str = "engine";
/// What a secret value becomes in a snapshot, and in the snapshot after a change that replaced
/// it (the one redaction's markers).
pub use crate::redact::{SECRET, SECRET_REPLACED};
/// Longest operator name kept (longer names are cut).
pub const MAX_OPERATOR_LEN: usize = 200;

/// What was done. Stored as text under a `CHECK` listing the same values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuditAction {
    #[serde(rename = "tenant.created")]
    TenantCreated,
    /// Limits, weight, or pause state.
    #[serde(rename = "tenant.updated")]
    TenantUpdated,
    /// Rate limit and job defaults.
    #[serde(rename = "tenant.policy_set")]
    TenantPolicySet,
    /// Notification channels, opt-ins and command defaults.
    #[serde(rename = "tenant.settings_set")]
    TenantSettingsSet,
    #[serde(rename = "handler.set")]
    HandlerSet,
    #[serde(rename = "job.created")]
    JobCreated,
    /// The definition (schedule, handler, payload, timeout, name).
    #[serde(rename = "job.updated")]
    JobUpdated,
    #[serde(rename = "job.policy_set")]
    JobPolicySet,
    #[serde(rename = "job.paused")]
    JobPaused,
    #[serde(rename = "job.resumed")]
    JobResumed,
    #[serde(rename = "job.enabled")]
    JobEnabled,
    #[serde(rename = "job.disabled")]
    JobDisabled,
    /// By the engine, after failures.
    #[serde(rename = "job.auto_disabled")]
    JobAutoDisabled,
    #[serde(rename = "job.deleted")]
    JobDeleted,
    /// A manual run ("run now").
    #[serde(rename = "job.triggered")]
    JobTriggered,
    #[serde(rename = "job.backfilled")]
    JobBackfilled,
    /// `rota access grant`: a role given a capability (Postgres). The entry names the role, the
    /// capability and the tenants; never a password.
    #[serde(rename = "access.granted")]
    AccessGranted,
    /// `rota access revoke`: a role's grant in one tenant, or all of them, removed (Postgres).
    #[serde(rename = "access.revoked")]
    AccessRevoked,
    /// A calendar added (to a tenant, or shared). The entry names it, its tenant, version and
    /// number of events, never the file.
    #[serde(rename = "calendar.created")]
    CalendarCreated,
    /// A calendar's days replaced by a new file.
    #[serde(rename = "calendar.updated")]
    CalendarUpdated,
    #[serde(rename = "calendar.removed")]
    CalendarRemoved,
}

text_enum!(AuditAction, "action", {
    TenantCreated => "tenant.created",
    TenantUpdated => "tenant.updated",
    TenantPolicySet => "tenant.policy_set",
    TenantSettingsSet => "tenant.settings_set",
    HandlerSet => "handler.set",
    JobCreated => "job.created",
    JobUpdated => "job.updated",
    JobPolicySet => "job.policy_set",
    JobPaused => "job.paused",
    JobResumed => "job.resumed",
    JobEnabled => "job.enabled",
    JobDisabled => "job.disabled",
    JobAutoDisabled => "job.auto_disabled",
    JobDeleted => "job.deleted",
    JobTriggered => "job.triggered",
    JobBackfilled => "job.backfilled",
    AccessGranted => "access.granted",
    AccessRevoked => "access.revoked",
    CalendarCreated => "calendar.created",
    CalendarUpdated => "calendar.updated",
    CalendarRemoved => "calendar.removed",
});

/// One entry of the audit log, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// Who. On Postgres the database role that made the change (`session_user`, set by the
    /// database whatever the client says); on SQLite (single-user) the operator name from the
    /// configuration, or [`ENGINE_OPERATOR`].
    pub operator: String,
    /// On Postgres, the name the client gave (`--operator`, the console's setting,
    /// [`ENGINE_OPERATOR`]) when it differs from the role; `None` otherwise and on SQLite.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    pub action: AuditAction,
    pub tenant_id: Option<Uuid>,
    pub tenant: Option<String>,
    pub job_id: Option<Uuid>,
    pub job: Option<String>,
    /// The named handler, for `handler.set`.
    pub handler: Option<String>,
    /// The record before the change (`None` for a creation or an operation such as a trigger).
    pub before: Option<Value>,
    /// The record after the change (`None` for a deletion).
    pub after: Option<Value>,
}

/// An entry to write; the store adds the id.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEntry {
    pub at: DateTime<Utc>,
    pub operator: String,
    pub action: AuditAction,
    pub tenant_id: Option<Uuid>,
    pub tenant: Option<String>,
    pub job_id: Option<Uuid>,
    pub job: Option<String>,
    pub handler: Option<String>,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl NewAuditEntry {
    fn blank(action: AuditAction, operator: &str, at: DateTime<Utc>) -> Self {
        NewAuditEntry {
            at,
            operator: operator.to_owned(),
            action,
            tenant_id: None,
            tenant: None,
            job_id: None,
            job: None,
            handler: None,
            before: None,
            after: None,
        }
    }

    /// A change of a tenant's record.
    pub fn tenant(
        action: AuditAction,
        operator: &str,
        at: DateTime<Utc>,
        before: Option<&Tenant>,
        after: Option<&Tenant>,
    ) -> Self {
        let subject = after.or(before);
        NewAuditEntry {
            tenant_id: subject.map(|tenant| tenant.id),
            tenant: subject.map(|tenant| tenant.name.clone()),
            before: before.map(snapshot),
            after: after.map(snapshot),
            ..Self::blank(action, operator, at)
        }
    }

    /// A change of who may do what (`rota access`): `before` or `after` describes the grant
    /// (role, capability, tenants), never a password.
    pub fn access(
        action: AuditAction,
        operator: &str,
        at: DateTime<Utc>,
        before: Option<Value>,
        after: Option<Value>,
    ) -> Self {
        NewAuditEntry {
            before: before.map(redact),
            after: after.map(redact),
            ..Self::blank(action, operator, at)
        }
    }

    /// A change of a job's record.
    pub fn job(
        action: AuditAction,
        operator: &str,
        at: DateTime<Utc>,
        before: Option<&Job>,
        after: Option<&Job>,
    ) -> Self {
        let subject = after.or(before);
        NewAuditEntry {
            tenant_id: subject.map(|job| job.tenant_id),
            tenant: subject.map(|job| job.tenant.clone()),
            job_id: subject.map(|job| job.id),
            job: subject.map(|job| job.name.clone()),
            before: before.map(snapshot),
            after: after.map(snapshot),
            ..Self::blank(action, operator, at)
        }
    }

    /// A change of a job's state, as [`NewAuditEntry::job`] writes it, for a bulk action's
    /// thousands: the two snapshots share every field the change left alone, so those are
    /// redacted once (the same function on the same value gives the same text) and only the
    /// fields that differ are redacted for `before` too.
    pub fn job_change(
        action: AuditAction,
        operator: &str,
        at: DateTime<Utc>,
        before: &Job,
        after: &Job,
    ) -> Self {
        let after_raw = serde_json::to_value(after).unwrap_or(Value::Null);
        let before_raw = serde_json::to_value(before).unwrap_or(Value::Null);
        let shown_after = redact(after_raw.clone());
        let shown_before = match (before_raw, &after_raw, &shown_after) {
            (Value::Object(fields), Value::Object(after_fields), Value::Object(shown)) => {
                Value::Object(
                    fields
                        .into_iter()
                        .map(|(key, value)| {
                            let value = match (after_fields.get(&key), shown.get(&key)) {
                                (Some(same), Some(shown)) if *same == value => shown.clone(),
                                // Redacted with its name, as `redact` does inside an object.
                                _ => match redact(Value::Object(
                                    std::iter::once((key.clone(), value)).collect(),
                                )) {
                                    Value::Object(mut one) => {
                                        one.remove(&key).unwrap_or(Value::Null)
                                    }
                                    _ => Value::Null,
                                },
                            };
                            (key, value)
                        })
                        .collect(),
                )
            }
            (raw, ..) => redact(raw),
        };
        NewAuditEntry {
            tenant_id: Some(after.tenant_id),
            tenant: Some(after.tenant.clone()),
            job_id: Some(after.id),
            job: Some(after.name.clone()),
            before: Some(shown_before),
            after: Some(shown_after),
            ..Self::blank(action, operator, at)
        }
    }

    /// An operation on a job that creates something else (a manual run, a backfill): the job
    /// names the target, `after` says what was created.
    pub fn job_operation(
        action: AuditAction,
        operator: &str,
        at: DateTime<Utc>,
        job: &Job,
        after: Value,
    ) -> Self {
        NewAuditEntry {
            tenant_id: Some(job.tenant_id),
            tenant: Some(job.tenant.clone()),
            job_id: Some(job.id),
            job: Some(job.name.clone()),
            after: Some(redact(after)),
            ..Self::blank(action, operator, at)
        }
    }

    /// A test run of an unsaved definition (the job editor's): recorded as `job.triggered` under
    /// the definition's name, with no job id, `after` holding the run and the definition (its
    /// secrets replaced), so the audit log says who ran what, even though no job was saved.
    pub fn test_run(
        operator: &str,
        at: DateTime<Utc>,
        tenant_id: Uuid,
        tenant: &str,
        definition: &crate::job::JobDefinition,
        run_id: Uuid,
    ) -> Self {
        let after = serde_json::json!({
            "run_id": run_id,
            "trigger": "test",
            "definition": definition,
        });
        NewAuditEntry {
            tenant_id: Some(tenant_id),
            tenant: Some(tenant.to_owned()),
            job: Some(definition.name.clone()),
            after: Some(redact(after)),
            ..Self::blank(AuditAction::JobTriggered, operator, at)
        }
    }

    /// A change of a tenant's settings, given as documents (see the store's settings snapshot).
    pub fn tenant_settings(
        operator: &str,
        at: DateTime<Utc>,
        tenant_id: Uuid,
        tenant: &str,
        before: Value,
        after: Value,
    ) -> Self {
        NewAuditEntry {
            tenant_id: Some(tenant_id),
            tenant: Some(tenant.to_owned()),
            before: Some(redact(before)),
            after: Some(redact(after)),
            ..Self::blank(AuditAction::TenantSettingsSet, operator, at)
        }
    }

    /// A calendar added, replaced or removed: the tenant it belongs to (none for a shared
    /// one), and snapshots of its name, tenant, version and event count (a holiday feed is
    /// tens of kilobytes: the log keeps what identifies it, not the file).
    pub fn calendar(
        action: AuditAction,
        operator: &str,
        at: DateTime<Utc>,
        before: Option<&StoredCalendar>,
        after: Option<&StoredCalendar>,
    ) -> Self {
        let subject = after.or(before);
        NewAuditEntry {
            tenant_id: subject.and_then(|calendar| calendar.tenant_id),
            tenant: subject.and_then(|calendar| calendar.tenant.clone()),
            before: before.map(calendar_summary),
            after: after.map(calendar_summary),
            ..Self::blank(action, operator, at)
        }
    }

    /// A named handler definition set (created or replaced).
    pub fn handler(
        operator: &str,
        at: DateTime<Utc>,
        name: &str,
        before: Option<Value>,
        after: Value,
    ) -> Self {
        NewAuditEntry {
            handler: Some(name.to_owned()),
            before: before.map(redact),
            after: Some(redact(after)),
            ..Self::blank(AuditAction::HandlerSet, operator, at)
        }
    }
}

/// What the audit log keeps of a calendar. `events` is `None` for a text that no longer
/// parses (only a hand edit of the database makes one).
fn calendar_summary(calendar: &StoredCalendar) -> Value {
    let events = calendar.parse().ok().map(|parsed| parsed.events().len());
    serde_json::json!({
        "name": calendar.name,
        "tenant": calendar.tenant,
        "version": calendar.version,
        "events": events,
        "bytes": calendar.source.len(),
    })
}

/// A record as JSON, with its secrets replaced.
pub fn snapshot<T: Serialize>(record: &T) -> Value {
    redact(serde_json::to_value(record).unwrap_or(Value::Null))
}

/// [`crate::redact::json`]: the one redaction, for snapshots.
pub fn redact(value: Value) -> Value {
    crate::redact::json(value)
}

/// Which entries [`crate::api::Rota::audit_log`] returns, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Entries about this tenant (by name).
    pub tenant: Option<String>,
    /// Entries about jobs of this name (with `tenant`: that tenant's job).
    pub job: Option<String>,
    /// Entries at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// At most this many (default 100, at most 10,000).
    pub limit: Option<u32>,
}

/// The operator to record when none is configured: `$USER`, else what `id -un` prints, else
/// `unknown`.
pub fn os_user() -> String {
    std::env::var("USER")
        .ok()
        .filter(|name| !name.trim().is_empty())
        .or_else(|| {
            std::process::Command::new("id")
                .arg("-un")
                .output()
                .ok()
                .filter(|output| output.status.success())
                .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
                .filter(|name| !name.is_empty())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The operator name from the configuration: `explicit` (a `--operator` flag, a desktop
/// setting), else `$ROTA_OPERATOR`, else the OS user ([`os_user`]).
pub fn resolve_operator(explicit: Option<&str>) -> String {
    explicit
        .map(str::to_owned)
        .or_else(|| std::env::var("ROTA_OPERATOR").ok())
        .map(|name| clean_operator(&name))
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| clean_operator(&os_user()))
}

/// An operator name as recorded: trimmed, control characters removed, at most
/// [`MAX_OPERATOR_LEN`] characters.
pub fn clean_operator(name: &str) -> String {
    name.trim().chars().filter(|c| !c.is_control()).take(MAX_OPERATOR_LEN).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn actions_round_trip_through_text_and_serde() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>().unwrap(), *action);
            assert_eq!(serde_json::to_value(action).unwrap(), json!(action.as_str()));
        }
        assert!("job.exploded".parse::<AuditAction>().is_err());
    }

    #[test]
    fn snapshots_hide_secrets_at_any_depth() {
        let value = json!({
            "handler": {"type": "http", "url": "https://user:hunter2@api.example/x",
                        "headers": {"Authorization": "Bearer AAA", "Accept": "json"}},
            "env": {"DB_PASSWORD": "BBB", "MODE": "x"},
            "webhook_secret": "CCC",
            "api_token": null,
            "replaced": {"webhook_secret": SECRET_REPLACED},
            "list": [{"X-Api-Key": "DDD"}],
        });
        let redacted = redact(value).to_string();
        for secret in ["hunter2", "AAA", "BBB", "CCC", "DDD"] {
            assert!(!redacted.contains(secret), "{secret} in {redacted}");
        }
        assert!(redacted.contains("\"Accept\":\"json\""), "{redacted}");
        assert!(redacted.contains("\"api_token\":null"), "{redacted}");
        assert!(redacted.contains(SECRET_REPLACED), "{redacted}");
        assert!(redacted.contains("user:***@api.example"), "{redacted}");
    }

    #[test]
    fn operator_names_are_cleaned() {
        assert_eq!(clean_operator("  alice\n"), "alice");
        assert_eq!(clean_operator(&"x".repeat(300)).len(), MAX_OPERATOR_LEN);
        assert_eq!(resolve_operator(Some("bob")), "bob");
        assert!(!resolve_operator(None).is_empty());
    }
}
