//! Schedules as files: tenants, named handlers and jobs as one YAML document, so that teams
//! keep them in git and review changes (`rota export`, `rota apply`).
//!
//! ```yaml
//! handlers:
//!   reports.daily:
//!     type: http
//!     url: https://reports.internal/run
//!     headers:
//!       Authorization:
//!         env: ROTA_SECRET_HANDLER_REPORTS_DAILY_AUTHORIZATION
//! calendars:
//!   public-holidays:
//!     ics: "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n...END:VCALENDAR\r\n"
//! tenants:
//!   acme:
//!     max_concurrent: 5
//!     weight: 2
//!     webhook_url: https://acme.example/rota-events
//!     webhook_secret:
//!       env: ROTA_SECRET_ACME_WEBHOOK
//!     commands:
//!       limits:
//!         cpu_seconds: 600
//!         address_space_bytes: 1073741824
//!       run_as: acme
//!     calendars:
//!       closing-days:
//!         dates: [2027-03-31, 2027-06-30]
//!         ranges: [2027-12-24..2027-12-31]
//!     jobs:
//!       nightly-report:
//!         schedule: 30 2 * * *
//!         timezone: Europe/Berlin
//!         timeout_seconds: 300
//!         handler:
//!           type: named
//!           name: reports.daily
//!         policy:
//!           max_retries: 3
//!           backoff_initial: 30
//!           overlap: queue_one
//!           exclude_calendars: [public-holidays]
//! ```
//!
//! Calendars travel with the jobs that name them: a tenant's own under the tenant, shared ones
//! at the top (export writes every shared calendar, or for one tenant those its jobs name).
//! A calendar made of whole days is written as `dates` and `ranges`; any other as its
//! iCalendar text, byte for byte (line endings included), so apply stores exactly what export
//! read. Apply creates or replaces them before the jobs, and never removes one.
//!
//! A job's `policy` and a tenant's `rate_limit`, `default_max_retries` and
//! `default_auto_disable_after` use the names of the CLI's flags (durations in seconds); export
//! writes only what differs from the defaults, and apply sets exactly what the file says (a job
//! without `policy` gets the default policies).
//!
//! No secret is ever written in plain text. The tenant's webhook secret, the values of HTTP
//! headers and command variables whose names look secret (`Authorization`, `*_TOKEN`,
//! `*PASSWORD*`, ...), and URLs (a handler's, a tenant's webhook) that hold a password or a
//! secret-looking query parameter (what [`crate::redact::url`] hides) are exported as
//! `{env: NAME}` references; `apply` reads them from the
//! environment and refuses to run when one is missing. Export suggests the names
//! (`ROTA_SECRET_<TENANT>_WEBHOOK`, `ROTA_SECRET_<TENANT>_WEBHOOK_URL`,
//! `ROTA_SECRET_<TENANT>_<JOB>_<FIELD>`, `ROTA_SECRET_<TENANT>_<JOB>_URL`,
//! `ROTA_SECRET_HANDLER_<NAME>_<FIELD>`); any name works. A URL variable holds the whole URL. A literal value in a file is applied as
//! it is.
//!
//! `apply` creates and updates what the file describes and leaves everything else alone, except
//! that `--prune` deletes the jobs of the file's tenants that the file does not list. Tenants and
//! named handlers are never deleted. Operational state is not part of the file: whether a
//! tenant is paused, whether a job is enabled, run history.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::diff::{diff, FieldChange};
use super::{job_value, stored_definition, tenant_jobs, Action, ImportError};
use crate::api::{CalendarSource, JobRef, Rota};
use crate::calendars::{dates_calendar, parse_ics, StoredCalendar};
use crate::handler::{CommandLimits, HandlerSpec, SigningSecret};
use crate::job::{JobDefinition, DEFAULT_TIMEOUT};
use crate::policy::{JobPolicy, PolicyChanges, RateLimit, TenantPolicy};
use crate::redact::looks_secret;
use crate::store::{Store, TenantSettings, TenantSettingsUpdate, TenantUpdate};
use crate::tenant::{NewTenant, DEFAULT_MAX_CONCURRENT};

/// The first lines of every exported file.
pub const HEADER: &str =
    "# Rota schedules, written by `rota export`; apply with `rota apply FILE`.\n\
# Secrets are never written here: `{env: NAME}` values are read from the environment by apply.\n";

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Document {
    /// Named handler definitions, by name (jobs refer to them with `type: named`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub handlers: BTreeMap<String, Value>,
    /// Shared calendars (every tenant's jobs may name them), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub calendars: BTreeMap<String, CalendarDocument>,
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantDocument>,
}

/// A calendar: whole days (`dates`, and inclusive `ranges` written `FROM..TO`), or an
/// iCalendar file's text, kept byte for byte. Export writes the days when they make exactly
/// the stored text (a calendar made with `--date`/`--range`), else the text.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarDocument {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dates: Vec<chrono::NaiveDate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ics: Option<String>,
}

impl CalendarDocument {
    /// What a stored calendar's text is written as: its days, when [`dates_calendar`] makes the
    /// very same text from them, else the text itself.
    fn of_text(text: &str) -> CalendarDocument {
        match days_of(text) {
            Some((dates, ranges)) => CalendarDocument {
                dates,
                ranges: ranges.iter().map(|(from, to)| format!("{from}..{to}")).collect(),
                ics: None,
            },
            None => CalendarDocument { ics: Some(text.to_owned()), ..CalendarDocument::default() },
        }
    }

    /// The calendar's source, checked for shape (one of `ics` or days; ranges `FROM..TO`).
    fn source(&self, path: &str) -> Result<CalendarSource, ImportError> {
        let days = !self.dates.is_empty() || !self.ranges.is_empty();
        match (&self.ics, days) {
            (Some(_), true) => Err(invalid(path, "give either ics or dates and ranges, not both")),
            (Some(text), false) => Ok(CalendarSource::Ics(text.clone())),
            (None, false) => Err(invalid(path, "has no days; give ics, or dates and ranges")),
            (None, true) => {
                let mut ranges = Vec::new();
                for range in &self.ranges {
                    let parsed = range.split_once("..").and_then(|(from, to)| {
                        Some((from.trim().parse().ok()?, to.trim().parse().ok()?))
                    });
                    let Some(parsed) = parsed else {
                        return Err(invalid(
                            &format!("{path}.ranges"),
                            format!("{range:?} is not a range; allowed FROM..TO (YYYY-MM-DD)"),
                        ));
                    };
                    ranges.push(parsed);
                }
                Ok(CalendarSource::Days { dates: self.dates.clone(), ranges })
            }
        }
    }
}

/// The dates and ranges whose [`dates_calendar`] is exactly `text`, if any: its events in file
/// order, the single days first (as `--date` writes them), then the spans.
fn days_of(text: &str) -> Option<DaysAndRanges> {
    let calendar = parse_ics(text).ok()?;
    let mut events: Vec<&crate::calendars::Event> = calendar.events().iter().collect();
    events.sort_by_key(|event| event.line);
    let (mut dates, mut ranges) = (Vec::new(), Vec::new());
    for event in events {
        let crate::calendars::EventTime::Date(from) = event.start else { return None };
        let days = event.duration.num_days();
        if event.duration != chrono::Duration::days(days) || days < 1 {
            return None;
        }
        let to = from + chrono::Duration::days(days - 1);
        if from == to && ranges.is_empty() {
            dates.push(from);
        } else {
            ranges.push((from, to));
        }
    }
    (dates_calendar(&dates, &ranges) == text).then_some((dates, ranges))
}

type DaysAndRanges = (Vec<chrono::NaiveDate>, Vec<(chrono::NaiveDate, chrono::NaiveDate)>);

/// A calendar's comparable fields for a plan: its days, or for an iCalendar file its size and
/// digest (the file itself would fill the plan).
fn calendar_value(text: &str) -> Value {
    match days_of(text) {
        Some((dates, ranges)) => json!({
            "dates": dates,
            "ranges": ranges.iter().map(|(from, to)| format!("{from}..{to}")).collect::<Vec<_>>(),
        }),
        None => {
            use sha2::Digest;
            let events = parse_ics(text).map(|calendar| calendar.events().len()).unwrap_or(0);
            let digest = sha2::Sha256::digest(text.as_bytes());
            let hex: String = digest.iter().take(6).map(|byte| format!("{byte:02x}")).collect();
            json!({ "ics": format!("{events} events, {} bytes, sha256 {hex}", text.len()) })
        }
    }
}

/// A tenant: its limits, channels, command defaults and jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantDocument {
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: u32,
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// The URL, or an `{env: NAME}` reference when it holds credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_email: Option<String>,
    /// Opt-in notifications: `run.failed` for every failed occurrence.
    #[serde(default, skip_serializing_if = "is_false")]
    pub notify_run_failed: bool,
    /// Opt-in notifications: `tenant.throttled` when the rate limit holds runs back.
    #[serde(default, skip_serializing_if = "is_false")]
    pub notify_throttled: bool,
    /// At most `count` starts within any `window_seconds`, across nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimitDocument>,
    /// For the tenant's jobs that do not set `max_retries`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_max_retries: Option<u32>,
    /// For the tenant's jobs that do not set `auto_disable_after` (0: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_auto_disable_after: Option<u32>,
    #[serde(default, skip_serializing_if = "CommandDefaults::is_empty")]
    pub commands: CommandDefaults,
    /// The tenant's own calendars, by name (its jobs look a name up here first, then among
    /// the shared ones).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub calendars: BTreeMap<String, CalendarDocument>,
    #[serde(default)]
    pub jobs: BTreeMap<String, JobDocument>,
}

/// A tenant's rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitDocument {
    pub count: u32,
    #[serde(with = "seconds")]
    pub window_seconds: Duration,
}

impl From<RateLimit> for RateLimitDocument {
    fn from(limit: RateLimit) -> Self {
        RateLimitDocument { count: limit.count, window_seconds: limit.window }
    }
}

impl From<RateLimitDocument> for RateLimit {
    fn from(limit: RateLimitDocument) -> Self {
        RateLimit { count: limit.count, window: limit.window_seconds }
    }
}

impl TenantDocument {
    fn policy(&self) -> TenantPolicy {
        TenantPolicy {
            rate_limit: self.rate_limit.map(RateLimit::from),
            default_max_retries: self.default_max_retries,
            default_auto_disable_after: self.default_auto_disable_after,
        }
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn default_max_concurrent() -> u32 {
    DEFAULT_MAX_CONCURRENT
}

fn default_weight() -> u32 {
    1
}

/// A secret: a reference to an environment variable (what export writes) or, discouraged, the
/// value itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Secret {
    Env { env: String },
    Literal(String),
}

/// Defaults for a tenant's command handlers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandDefaults {
    #[serde(default, skip_serializing_if = "CommandLimits::is_empty")]
    pub limits: CommandLimits,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work_dir: Option<PathBuf>,
}

impl CommandDefaults {
    pub fn is_empty(&self) -> bool {
        self == &CommandDefaults::default()
    }
}

/// A job. The handler is a handler spec in which secret values may be `{env: NAME}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobDocument {
    pub schedule: String,
    #[serde(default = "utc")]
    pub timezone: String,
    #[serde(default = "default_timeout", with = "seconds")]
    pub timeout_seconds: Duration,
    #[serde(default = "empty_object", skip_serializing_if = "is_empty_object")]
    pub payload: Value,
    pub handler: Value,
    /// What differs from the default policies.
    #[serde(default, skip_serializing_if = "PolicyChanges::is_empty")]
    pub policy: PolicyChanges,
}

fn utc() -> String {
    "UTC".to_owned()
}

fn default_timeout() -> Duration {
    DEFAULT_TIMEOUT
}

fn empty_object() -> Value {
    json!({})
}

fn is_empty_object(value: &Value) -> bool {
    value.as_object().is_some_and(serde_json::Map::is_empty)
}

/// Durations as seconds: a whole number when whole, else a decimal.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        if duration.subsec_nanos() == 0 {
            serializer.serialize_u64(duration.as_secs())
        } else {
            serializer.serialize_f64(duration.as_secs_f64())
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let seconds = f64::deserialize(deserializer)?;
        Duration::try_from_secs_f64(seconds).map_err(serde::de::Error::custom)
    }
}

/// Parses a schedules file. A key written twice in any mapping is an error naming its line
/// (the document's maps would otherwise keep the last one silently).
pub fn from_yaml(text: &str) -> Result<Document, ImportError> {
    let error = |error: yaml_serde::Error| ImportError::Document(format!("the file: {error}"));
    yaml_serde::from_str::<unique_keys::UniqueKeys>(text).map_err(error)?;
    yaml_serde::from_str(text).map_err(error)
}

/// A pass over the YAML that refuses a key repeated in a mapping. The duplicate is refused
/// while its key is read, so the parser's error names the line of the second one.
mod unique_keys {
    use std::collections::BTreeSet;
    use std::fmt;

    use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde::Deserialize;

    /// Any YAML node whose mappings have unique keys.
    pub struct UniqueKeys;

    impl<'de> Deserialize<'de> for UniqueKeys {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(Node)
        }
    }

    struct Node;

    impl<'de> Visitor<'de> for Node {
        type Value = UniqueKeys;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any YAML value")
        }

        fn visit_bool<E>(self, _: bool) -> Result<UniqueKeys, E> {
            Ok(UniqueKeys)
        }
        fn visit_i64<E>(self, _: i64) -> Result<UniqueKeys, E> {
            Ok(UniqueKeys)
        }
        fn visit_u64<E>(self, _: u64) -> Result<UniqueKeys, E> {
            Ok(UniqueKeys)
        }
        fn visit_f64<E>(self, _: f64) -> Result<UniqueKeys, E> {
            Ok(UniqueKeys)
        }
        fn visit_str<E>(self, _: &str) -> Result<UniqueKeys, E> {
            Ok(UniqueKeys)
        }
        fn visit_unit<E>(self) -> Result<UniqueKeys, E> {
            Ok(UniqueKeys)
        }
        fn visit_none<E>(self) -> Result<UniqueKeys, E> {
            Ok(UniqueKeys)
        }
        fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<UniqueKeys, D::Error> {
            UniqueKeys::deserialize(inner)
        }
        fn visit_newtype_struct<D: Deserializer<'de>>(
            self,
            inner: D,
        ) -> Result<UniqueKeys, D::Error> {
            UniqueKeys::deserialize(inner)
        }
        fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<UniqueKeys, A::Error> {
            // A tagged value (`!tag value`): the value's keys count.
            let (UniqueKeys, variant) = data.variant::<UniqueKeys>()?;
            de::VariantAccess::newtype_variant::<UniqueKeys>(variant)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<UniqueKeys, A::Error> {
            while seq.next_element::<UniqueKeys>()?.is_some() {}
            Ok(UniqueKeys)
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueKeys, A::Error> {
            let mut seen = BTreeSet::new();
            while map.next_key_seed(Key { seen: &mut seen })?.is_some() {
                map.next_value::<UniqueKeys>()?;
            }
            Ok(UniqueKeys)
        }
    }

    /// A mapping's key, refused when the mapping already had it.
    struct Key<'a> {
        seen: &'a mut BTreeSet<String>,
    }

    impl<'de> DeserializeSeed<'de> for Key<'_> {
        type Value = ();

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl Key<'_> {
        fn check<E: de::Error>(self, key: String) -> Result<(), E> {
            if self.seen.insert(key.clone()) {
                Ok(())
            } else {
                Err(E::custom(format_args!(
                    "duplicate key {key:?}: a key may appear only once in a mapping"
                )))
            }
        }
    }

    impl<'de> Visitor<'de> for Key<'_> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a mapping key")
        }

        fn visit_str<E: de::Error>(self, key: &str) -> Result<(), E> {
            self.check(key.to_owned())
        }
        fn visit_bool<E: de::Error>(self, key: bool) -> Result<(), E> {
            self.check(key.to_string())
        }
        fn visit_i64<E: de::Error>(self, key: i64) -> Result<(), E> {
            self.check(key.to_string())
        }
        fn visit_u64<E: de::Error>(self, key: u64) -> Result<(), E> {
            self.check(key.to_string())
        }
        fn visit_f64<E: de::Error>(self, key: f64) -> Result<(), E> {
            self.check(key.to_string())
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            self.check("~".to_owned())
        }
        fn visit_none<E: de::Error>(self) -> Result<(), E> {
            self.check("~".to_owned())
        }
        // Keys that are themselves mappings or lists are rare in a schedules file (and refused
        // by its types): their own keys are checked, the key as a whole is not compared.
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
            Node.visit_seq(seq).map(drop)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
            Node.visit_map(map).map(drop)
        }
    }
}

/// The document as YAML, with [`HEADER`] first.
pub fn to_yaml(document: &Document) -> String {
    let body = yaml_serde::to_string(document).expect("a document always serializes to YAML");
    format!("{HEADER}{body}")
}

/// `ROTA_SECRET_` and the parts, upper-cased, everything but letters and digits as `_`.
fn env_name(parts: &[&str]) -> String {
    let joined: String = parts
        .join("_")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' })
        .collect();
    format!("ROTA_SECRET_{joined}")
}

/// A URL as exported: itself, or an `{env: NAME}` reference when it holds a secret.
fn export_url(url: &str, owner: &[&str]) -> Secret {
    if crate::redact::url_has_secret(url) {
        let mut parts = owner.to_vec();
        parts.push("URL");
        Secret::Env { env: env_name(&parts) }
    } else {
        Secret::Literal(url.to_owned())
    }
}

/// The handler as exported: values of secret-looking headers and variables, and a URL with
/// credentials, replaced by `{env: NAME}` references named after `owner`.
fn export_handler(spec: &HandlerSpec, owner: &[&str]) -> Value {
    let mut value = serde_json::to_value(spec).expect("a handler spec serializes");
    if let HandlerSpec::Http(http) = spec {
        value["url"] = serde_json::to_value(export_url(&http.url, owner)).expect("serializes");
    }
    for section in ["headers", "env"] {
        if let Some(Value::Object(map)) = value.get_mut(section) {
            for (name, entry) in map.iter_mut() {
                if looks_secret(name) {
                    let mut parts = owner.to_vec();
                    parts.push(name);
                    *entry = json!({ "env": env_name(&parts) });
                }
            }
        }
    }
    value
}

/// Writes the stored tenants (or one), their jobs and the named handlers as a document.
pub async fn export<S: Store>(rota: &Rota<S>, tenant: Option<&str>) -> crate::Result<Document> {
    let tenants = match tenant {
        Some(name) => vec![rota.tenant(name).await?],
        None => rota.list_tenants().await?,
    };
    let mut document = Document::default();
    let mut used_handlers = std::collections::BTreeSet::new();
    let mut used_calendars = std::collections::BTreeSet::new();
    let stored_calendars = rota.list_calendars(None).await?;
    for tenant in tenants {
        let settings = rota.tenant_settings(&tenant.name).await?;
        let mut jobs = BTreeMap::new();
        for job in tenant_jobs(rota, &tenant.name).await? {
            if let HandlerSpec::Named { name } = &job.handler {
                used_handlers.insert(name.clone());
            }
            let names = job.policy.exclude_calendars.iter().chain(&job.policy.only_calendar);
            used_calendars.extend(names.cloned());
            let handler = export_handler(&job.handler, &[&tenant.name, &job.name]);
            jobs.insert(
                job.name.clone(),
                JobDocument {
                    schedule: job.schedule,
                    timezone: job.timezone,
                    timeout_seconds: job.timeout,
                    payload: job.payload,
                    handler,
                    policy: PolicyChanges::from_policy(&job.policy),
                },
            );
        }
        let webhook_secret = settings
            .webhook_secret
            .as_ref()
            .map(|_| Secret::Env { env: env_name(&[&tenant.name, "WEBHOOK"]) });
        document.tenants.insert(
            tenant.name.clone(),
            TenantDocument {
                max_concurrent: tenant.max_concurrent,
                weight: tenant.weight,
                webhook_url: settings
                    .webhook_url
                    .as_deref()
                    .map(|url| export_url(url, &[&tenant.name, "WEBHOOK"])),
                webhook_secret,
                notify_email: settings.notify_email,
                notify_run_failed: settings.notify_run_failed,
                notify_throttled: settings.notify_throttled,
                rate_limit: tenant.policy.rate_limit.map(RateLimitDocument::from),
                default_max_retries: tenant.policy.default_max_retries,
                default_auto_disable_after: tenant.policy.default_auto_disable_after,
                commands: CommandDefaults {
                    limits: settings.command_limits,
                    run_as: settings.run_as,
                    work_dir: settings.work_dir,
                },
                calendars: stored_calendars
                    .iter()
                    .filter(|calendar| calendar.tenant_id == Some(tenant.id))
                    .map(|calendar| {
                        (calendar.name.clone(), CalendarDocument::of_text(&calendar.source))
                    })
                    .collect(),
                jobs,
            },
        );
    }
    // Shared calendars: all of them, or (for one tenant) those its jobs may mean by a name
    // the tenant has no calendar of its own for.
    for calendar in stored_calendars.iter().filter(|calendar| calendar.tenant_id.is_none()) {
        let shadowed = document
            .tenants
            .values()
            .all(|exported| exported.calendars.contains_key(&calendar.name));
        let used = used_calendars.contains(&calendar.name) && !shadowed;
        if tenant.is_none() || used {
            document
                .calendars
                .insert(calendar.name.clone(), CalendarDocument::of_text(&calendar.source));
        }
    }
    for (name, spec) in stored_handlers(rota).await? {
        if tenant.is_none() || used_handlers.contains(&name) {
            document.handlers.insert(name.clone(), export_handler(&spec, &["HANDLER", &name]));
        }
    }
    Ok(document)
}

/// The stored named handler definitions, by name: what a document holds. In-process handlers
/// have no definition; they belong to the program that registers them.
async fn stored_handlers<S: Store>(rota: &Rota<S>) -> crate::Result<BTreeMap<String, HandlerSpec>> {
    let handlers = rota.named_handlers().await?.into_iter();
    Ok(handlers.filter_map(|handler| Some((handler.name, handler.spec?))).collect())
}

/// One object that `apply` creates, updates or deletes.
#[derive(Debug, Clone)]
pub struct ObjectChange {
    /// `handler`, `calendar`, `tenant` or `job`.
    pub kind: &'static str,
    /// The handler's, shared calendar's or tenant's name, or `tenant/job`, `tenant/calendar`.
    pub key: String,
    pub action: Action,
    pub fields: Vec<FieldChange>,
}

/// What `apply` would do, in the order it does it.
#[derive(Debug, Clone, Default)]
pub struct ApplyPlan {
    pub changes: Vec<ObjectChange>,
    /// Objects the file describes exactly as stored.
    pub unchanged: usize,
    steps: Vec<Step>,
}

impl ApplyPlan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

impl fmt::Display for ApplyPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for change in &self.changes {
            let sign = match change.action {
                Action::Create => '+',
                Action::Update => '~',
                Action::Delete => '-',
                Action::Unchanged => '=',
            };
            writeln!(f, "{sign} {} {} ({})", change.kind, change.key, change.action.as_str())?;
            for field in &change.fields {
                writeln!(f, "    {field}")?;
            }
        }
        let count = |action| self.changes.iter().filter(|c| c.action == action).count();
        write!(
            f,
            "{} to create, {} to update, {} to delete, {} unchanged",
            count(Action::Create),
            count(Action::Update),
            count(Action::Delete),
            self.unchanged
        )
    }
}

/// A write, prepared and validated.
#[derive(Debug, Clone)]
enum Step {
    Handler {
        name: String,
        spec: HandlerSpec,
    },
    CreateTenant(NewTenant),
    UpdateTenant {
        name: String,
        update: TenantUpdate,
    },
    TenantPolicy {
        name: String,
        policy: TenantPolicy,
    },
    Settings {
        tenant: String,
        update: TenantSettingsUpdate,
    },
    /// A calendar of `tenant` (`None`: shared) to create, or (`exists`) to replace.
    Calendar {
        tenant: Option<String>,
        name: String,
        source: CalendarSource,
        exists: bool,
    },
    CreateJob {
        tenant: String,
        definition: JobDefinition,
        policy: JobPolicy,
    },
    UpdateJob {
        id: uuid::Uuid,
        version: i64,
        definition: JobDefinition,
        policy: JobPolicy,
    },
    DeleteJob {
        tenant: String,
        name: String,
    },
}

fn invalid(path: &str, message: impl fmt::Display) -> ImportError {
    ImportError::Document(format!("{path}: {message}"))
}

/// `{env: NAME}` replaced by the variable's value, in the `url`, `headers` and `env` of a
/// handler.
fn resolve_handler(
    path: &str,
    value: &Value,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<HandlerSpec, ImportError> {
    let mut value = value.clone();
    if let Some(url) = value.get_mut("url") {
        if let Some(variable) = url.get("env").and_then(Value::as_str) {
            let resolved = lookup(variable).ok_or_else(|| {
                invalid(
                    &format!("{path}.url"),
                    format!("the environment variable {variable} is not set"),
                )
            })?;
            *url = Value::String(resolved);
        }
    }
    for section in ["headers", "env"] {
        if let Some(Value::Object(map)) = value.get_mut(section) {
            for (name, entry) in map.iter_mut() {
                if let Some(variable) = entry.get("env").and_then(Value::as_str) {
                    let resolved = lookup(variable).ok_or_else(|| {
                        invalid(
                            &format!("{path}.{section}.{name}"),
                            format!("the environment variable {variable} is not set"),
                        )
                    })?;
                    *entry = Value::String(resolved);
                }
            }
        }
    }
    let spec: HandlerSpec = serde_json::from_value(value).map_err(|error| invalid(path, error))?;
    spec.validate().map_err(|error| invalid(path, error))?;
    Ok(spec)
}

fn resolve_secret(
    path: &str,
    secret: &Secret,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<SigningSecret>, ImportError> {
    Ok(SigningSecret::new(resolve_text(path, secret, lookup)?))
}

/// The value of a [`Secret`]: the variable's for a reference.
fn resolve_text(
    path: &str,
    secret: &Secret,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ImportError> {
    match secret {
        Secret::Env { env } => lookup(env)
            .ok_or_else(|| invalid(path, format!("the environment variable {env} is not set"))),
        Secret::Literal(text) => Ok(text.clone()),
    }
}

/// The comparable part of a tenant's settings (with the real secret: diffs hide it).
fn settings_value(
    max_concurrent: u32,
    weight: u32,
    policy: &TenantPolicy,
    settings: &TenantSettings,
) -> Value {
    json!({
        "max_concurrent": max_concurrent,
        "weight": weight,
        // As the file writes it (window in seconds).
        "rate_limit": policy.rate_limit.map(RateLimitDocument::from),
        "default_max_retries": policy.default_max_retries,
        "default_auto_disable_after": policy.default_auto_disable_after,
        "webhook_url": settings.webhook_url,
        "webhook_secret": settings.webhook_secret.as_ref().map(SigningSecret::expose),
        "notify_email": settings.notify_email,
        "notify_run_failed": settings.notify_run_failed,
        "notify_throttled": settings.notify_throttled,
        "commands": {
            "limits": settings.command_limits,
            "run_as": settings.run_as,
            "work_dir": settings.work_dir,
        },
    })
}

/// Validates `document` completely and compares it with what is stored: the plan of what
/// `apply` writes. `lookup` reads environment variables (`std::env::var` in the CLI).
pub async fn plan_apply<S: Store>(
    rota: &Rota<S>,
    document: &Document,
    prune: bool,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<ApplyPlan, ImportError> {
    let mut plan = ApplyPlan::default();
    let stored_handlers = stored_handlers(rota).await?;
    let mut file_handlers = BTreeMap::new();
    for (name, value) in &document.handlers {
        let path = format!("handlers.{name}");
        crate::tenant::validate_name("handler name", name).map_err(|e| invalid(&path, e))?;
        let spec = resolve_handler(&path, value, lookup)?;
        if matches!(spec, HandlerSpec::Named { .. }) {
            return Err(invalid(&path, "a named handler must be an http or command definition"));
        }
        let after = serde_json::to_value(&spec).expect("serializes");
        let (action, fields) = match stored_handlers.get(name) {
            None => (Action::Create, Vec::new()),
            Some(stored) => {
                let fields = diff(&serde_json::to_value(stored).expect("serializes"), &after);
                (if fields.is_empty() { Action::Unchanged } else { Action::Update }, fields)
            }
        };
        plan.record("handler", name.clone(), action, fields);
        if action != Action::Unchanged {
            plan.steps.push(Step::Handler { name: name.clone(), spec: spec.clone() });
        }
        file_handlers.insert(name.clone(), spec);
    }

    let stored_calendars = rota.list_calendars(None).await?;
    for (name, calendar) in &document.calendars {
        plan_calendar(&mut plan, None, name, calendar, &stored_calendars)?;
    }

    let stored_tenants: BTreeMap<String, crate::tenant::Tenant> =
        rota.list_tenants().await?.into_iter().map(|t| (t.name.clone(), t)).collect();
    for (name, tenant) in &document.tenants {
        let path = format!("tenants.{name}");
        let new = NewTenant {
            name: name.clone(),
            max_concurrent: tenant.max_concurrent,
            weight: tenant.weight,
        };
        new.validate().map_err(|error| invalid(&path, error))?;
        let desired_policy = tenant.policy();
        desired_policy.validate().map_err(|error| invalid(&path, error))?;
        let desired = TenantSettings {
            webhook_url: match &tenant.webhook_url {
                Some(url) => Some(resolve_text(&format!("{path}.webhook_url"), url, lookup)?),
                None => None,
            },
            webhook_secret: match &tenant.webhook_secret {
                Some(secret) => resolve_secret(&format!("{path}.webhook_secret"), secret, lookup)?,
                None => None,
            },
            notify_email: tenant.notify_email.clone(),
            command_limits: tenant.commands.limits.clone(),
            run_as: tenant.commands.run_as.clone(),
            work_dir: tenant.commands.work_dir.clone(),
            notify_run_failed: tenant.notify_run_failed,
            notify_throttled: tenant.notify_throttled,
        };
        crate::api::validate_tenant_settings(&desired).map_err(|error| invalid(&path, error))?;
        let after = settings_value(new.max_concurrent, new.weight, &desired_policy, &desired);
        let stored = stored_tenants.get(name);
        let (action, fields) = match stored {
            None => (Action::Create, Vec::new()),
            Some(stored) => {
                let settings = rota.tenant_settings(name).await?;
                let before =
                    settings_value(stored.max_concurrent, stored.weight, &stored.policy, &settings);
                let fields = diff(&before, &after);
                (if fields.is_empty() { Action::Unchanged } else { Action::Update }, fields)
            }
        };
        plan.record("tenant", name.clone(), action, fields);
        match action {
            Action::Create => plan.steps.push(Step::CreateTenant(new)),
            Action::Update => plan.steps.push(Step::UpdateTenant {
                name: name.clone(),
                update: TenantUpdate {
                    max_concurrent: Some(new.max_concurrent),
                    weight: Some(new.weight),
                    ..TenantUpdate::default()
                },
            }),
            _ => {}
        }
        let policy_differs = match stored {
            Some(stored) => stored.policy != desired_policy,
            None => desired_policy != TenantPolicy::default(),
        };
        if policy_differs {
            plan.steps.push(Step::TenantPolicy { name: name.clone(), policy: desired_policy });
        }
        if action != Action::Unchanged {
            plan.steps.push(Step::Settings {
                tenant: name.clone(),
                update: TenantSettingsUpdate {
                    webhook_url: Some(desired.webhook_url.clone()),
                    webhook_secret: Some(desired.webhook_secret.clone()),
                    notify_email: Some(desired.notify_email.clone()),
                    command_limits: Some(desired.command_limits.clone()),
                    run_as: Some(desired.run_as.clone()),
                    work_dir: Some(desired.work_dir.clone()),
                    notify_run_failed: Some(desired.notify_run_failed),
                    notify_throttled: Some(desired.notify_throttled),
                },
            });
        }

        for (calendar_name, calendar) in &tenant.calendars {
            plan_calendar(&mut plan, Some(name), calendar_name, calendar, &stored_calendars)?;
        }
        let existing = match stored {
            Some(_) => tenant_jobs(rota, name).await?,
            None => Vec::new(),
        };
        for (job_name, job) in &tenant.jobs {
            let path = format!("{path}.jobs.{job_name}");
            let handler = resolve_handler(&format!("{path}.handler"), &job.handler, lookup)?;
            if let HandlerSpec::Named { name: handler_name } = &handler {
                let known = document.handlers.contains_key(handler_name)
                    || stored_handlers.contains_key(handler_name);
                if !known {
                    return Err(invalid(
                        &format!("{path}.handler"),
                        format!("no named handler {handler_name:?} in the file or the database"),
                    ));
                }
            }
            let user = match &handler {
                HandlerSpec::Command(command) => command.run_as.clone(),
                HandlerSpec::Named { name } => {
                    file_handlers.get(name).or(stored_handlers.get(name)).and_then(command_run_as)
                }
                HandlerSpec::Http(_) => None,
            };
            if let Some(user) = &user {
                crate::api::check_run_as_ceiling(name, desired.run_as.as_deref(), user)
                    .map_err(|error| invalid(&path, error))?;
            }
            let definition = JobDefinition {
                name: job_name.clone(),
                schedule: job.schedule.clone(),
                timezone: job.timezone.clone(),
                handler,
                payload: job.payload.clone(),
                timeout: job.timeout_seconds,
            };
            let schedule = definition.validate().map_err(|error| invalid(&path, error))?;
            let mut policy = JobPolicy::default();
            let policy_path = format!("{path}.policy");
            job.policy.apply(&mut policy).map_err(|error| invalid(&policy_path, error))?;
            policy.validate(&schedule).map_err(|error| invalid(&policy_path, error))?;
            // Every calendar it names: the tenant's or a shared one, in the file or stored.
            for calendar in policy.exclude_calendars.iter().chain(&policy.only_calendar) {
                let known = tenant.calendars.contains_key(calendar)
                    || document.calendars.contains_key(calendar)
                    || stored_calendars.iter().any(|stored| {
                        &stored.name == calendar
                            && (stored.tenant_id.is_none()
                                || stored.tenant.as_deref() == Some(name))
                    });
                if !known {
                    return Err(invalid(
                        &policy_path,
                        format!("no calendar {calendar:?} in the file or the database"),
                    ));
                }
            }
            let key = format!("{name}/{job_name}");
            match existing.iter().find(|stored| &stored.name == job_name) {
                None => {
                    plan.record("job", key, Action::Create, Vec::new());
                    plan.steps.push(Step::CreateJob { tenant: name.clone(), definition, policy });
                }
                Some(stored) => {
                    let fields = diff(
                        &job_with_policy(&stored_definition(stored), &stored.policy),
                        &job_with_policy(&definition, &policy),
                    );
                    if fields.is_empty() {
                        plan.record("job", key, Action::Unchanged, fields);
                    } else {
                        plan.record("job", key, Action::Update, fields);
                        plan.steps.push(Step::UpdateJob {
                            id: stored.id,
                            version: stored.version,
                            definition,
                            policy,
                        });
                    }
                }
            }
        }
        // Jobs the file leaves alone must fit the tenant's run-as user too.
        if let Some(ceiling) = desired.run_as.as_deref().filter(|_| !prune) {
            for stored in existing.iter().filter(|job| !tenant.jobs.contains_key(&job.name)) {
                if let Some(user) = rota.handler_run_as(&stored.handler).await? {
                    if user != ceiling {
                        return Err(invalid(
                            &format!("{path}.commands.run_as"),
                            format!(
                                "the job {:?}, not in the file, runs as {user:?}; change it, or \
                                 apply with --prune to delete it",
                                stored.name
                            ),
                        ));
                    }
                }
            }
        }
        if prune {
            for stored in existing.iter().filter(|job| !tenant.jobs.contains_key(&job.name)) {
                plan.record("job", format!("{name}/{}", stored.name), Action::Delete, Vec::new());
                plan.steps
                    .push(Step::DeleteJob { tenant: name.clone(), name: stored.name.clone() });
            }
        }
    }
    Ok(plan)
}

/// Compares a calendar of the file (of `tenant`, or shared) with the stored one of that name:
/// checked completely (a bad file is refused with its line and property), then a create, an
/// update with the changed days (or the file's size and digest), or nothing.
fn plan_calendar(
    plan: &mut ApplyPlan,
    tenant: Option<&str>,
    name: &str,
    calendar: &CalendarDocument,
    stored: &[StoredCalendar],
) -> Result<(), ImportError> {
    let path = match tenant {
        Some(tenant) => format!("tenants.{tenant}.calendars.{name}"),
        None => format!("calendars.{name}"),
    };
    crate::calendars::validate_name("calendar name", name).map_err(|e| invalid(&path, e))?;
    let source = calendar.source(&path)?;
    let text = source.checked_text(name).map_err(|error| invalid(&path, error))?;
    let key = match tenant {
        Some(tenant) => format!("{tenant}/{name}"),
        None => name.to_owned(),
    };
    let current =
        stored.iter().find(|stored| stored.name == name && stored.tenant.as_deref() == tenant);
    let (action, fields) = match current {
        None => (Action::Create, Vec::new()),
        Some(current) if current.source == text => (Action::Unchanged, Vec::new()),
        Some(current) => {
            (Action::Update, diff(&calendar_value(&current.source), &calendar_value(&text)))
        }
    };
    plan.record("calendar", key, action, fields);
    if action != Action::Unchanged {
        plan.steps.push(Step::Calendar {
            tenant: tenant.map(str::to_owned),
            name: name.to_owned(),
            source,
            exists: current.is_some(),
        });
    }
    Ok(())
}

/// The run-as user of a command handler.
fn command_run_as(spec: &HandlerSpec) -> Option<String> {
    match spec {
        HandlerSpec::Command(command) => command.run_as.clone(),
        _ => None,
    }
}

/// A job's comparable fields: its definition and, under `policy`, what differs from the
/// default policies.
fn job_with_policy(definition: &JobDefinition, policy: &JobPolicy) -> Value {
    let mut value = job_value(definition);
    value["policy"] =
        serde_json::to_value(PolicyChanges::from_policy(policy)).expect("policies serialize");
    value
}

impl ApplyPlan {
    fn record(
        &mut self,
        kind: &'static str,
        key: String,
        action: Action,
        fields: Vec<FieldChange>,
    ) {
        if action == Action::Unchanged {
            self.unchanged += 1;
        } else {
            self.changes.push(ObjectChange { kind, key, action, fields });
        }
    }
}

/// Writes `plan`: handlers, then tenants, their settings and the calendars, then jobs, then
/// deletions.
pub async fn execute<S: Store>(rota: &Rota<S>, plan: &ApplyPlan) -> Result<(), ImportError> {
    let rank = |step: &Step| match step {
        Step::Handler { .. } => 0,
        Step::CreateTenant(_) | Step::UpdateTenant { .. } => 1,
        Step::TenantPolicy { .. } | Step::Settings { .. } | Step::Calendar { .. } => 2,
        Step::CreateJob { .. } | Step::UpdateJob { .. } => 3,
        Step::DeleteJob { .. } => 4,
    };
    let mut steps: Vec<&Step> = plan.steps.iter().collect();
    steps.sort_by_key(|step| rank(step));
    for step in steps {
        match step {
            Step::Handler { name, spec } => rota.set_named_handler(name, spec).await?,
            Step::CreateTenant(tenant) => {
                rota.add_tenant(tenant, &TenantPolicy::default()).await?;
            }
            Step::UpdateTenant { name, update } => {
                rota.update_tenant(name, update, None).await?;
            }
            Step::TenantPolicy { name, policy } => {
                rota.set_tenant_policy(name, policy).await?;
            }
            Step::Settings { tenant, update } => {
                // The plan checked every job the tenant keeps against its run-as user.
                let skip = crate::api::JobsCheck::Skip;
                rota.update_tenant_settings_with(tenant, update, skip).await?;
            }
            Step::Calendar { tenant, name, source, exists: false } => {
                rota.add_calendar(tenant.as_deref(), name, source).await?;
            }
            Step::Calendar { tenant, name, source, exists: true } => {
                rota.update_calendar(tenant.as_deref(), name, source).await?;
            }
            Step::CreateJob { tenant, definition, policy } => {
                rota.add_job(tenant, definition, policy).await?;
            }
            Step::UpdateJob { id, version, definition, policy } => {
                rota.update_job(*id, *version, definition, Some(policy)).await?;
            }
            Step::DeleteJob { tenant, name } => {
                rota.delete_job(JobRef::named(tenant, name)).await?
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_values_are_exported_as_references() {
        let spec = HandlerSpec::Http(
            crate::handler::HttpSpec::post("https://example.com")
                .with_header("Authorization", "Bearer hunter2")
                .with_header("X-Mode", "fast"),
        );
        let value = export_handler(&spec, &["acme", "nightly-report"]);
        assert_eq!(
            value["headers"],
            json!({"Authorization": {"env": "ROTA_SECRET_ACME_NIGHTLY_REPORT_AUTHORIZATION"},
                   "X-Mode": "fast"})
        );
        let lookup = |name: &str| {
            (name == "ROTA_SECRET_ACME_NIGHTLY_REPORT_AUTHORIZATION")
                .then(|| "Bearer hunter2".to_owned())
        };
        assert_eq!(resolve_handler("h", &value, &lookup).unwrap(), spec);
        let error = resolve_handler("h", &value, &|_| None).unwrap_err().to_string();
        assert!(error.starts_with("h.headers.Authorization: the environment variable"), "{error}");
    }

    #[test]
    fn documents_round_trip_through_yaml_and_reject_typos() {
        let text = "tenants:\n  acme:\n    weight: 2\n    jobs:\n      a:\n        schedule: '*/5 * * * *'\n        timeout_seconds: 1.5\n        handler: {type: command, program: /bin/true}\n";
        let document = from_yaml(text).unwrap();
        let job = &document.tenants["acme"].jobs["a"];
        assert_eq!(job.timeout_seconds, Duration::from_millis(1500));
        assert_eq!(job.timezone, "UTC");
        assert_eq!(document.tenants["acme"].max_concurrent, DEFAULT_MAX_CONCURRENT);
        assert_eq!(from_yaml(&to_yaml(&document)).unwrap(), document);
        let error = from_yaml("tenants:\n  acme:\n    wieght: 2\n").unwrap_err().to_string();
        assert!(error.contains("wieght"), "{error}");
    }
}
