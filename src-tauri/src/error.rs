//! The one error every command returns: a stable code the UI branches on, a message for people,
//! and where the input was wrong. The UI never matches on `message`.

use serde::Serialize;
use specta::Type;

use crate::commands::access::Capability;

/// What kind of failure a command met. Mirrors [`rota::ErrorCode`] plus the console's own
/// failures (no database chosen yet, a password needed, the keyring, the settings file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Input failed validation; nothing was changed. `field` says which input.
    Invalid,
    NotFound,
    AlreadyExists,
    /// The record changed since it was loaded; nothing was changed. `currentVersion` holds the
    /// version that is stored now.
    StaleVersion,
    /// The database failed or could not be reached.
    Database,
    /// The current database role may not do this; nothing was changed. `forbidden` names the
    /// capability it lacked and the tenant (none: an admin-only action).
    Forbidden,
    /// No database is open yet: the user has not chosen Local or Connected mode.
    NotConnected,
    /// Connected mode needs the database password for this session.
    PasswordRequired,
    /// The console's settings could not be read or written.
    Settings,
    /// A failure the console does not classify further.
    Internal,
}

/// A byte-free character range in an input, for underlining: UTF-16 code units, as JavaScript
/// strings count them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Type)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct CommandError {
    pub code: ErrorCode,
    pub message: String,
    /// The input field at fault, named as in the command's input type (`name`, `schedule`,
    /// `timezone`, `handler.url`, `payload`, `maxConcurrent`, ...).
    pub field: Option<String>,
    /// For schedule errors: the cron field at fault (`minute`, `day-of-week`, ...).
    pub cron_field: Option<String>,
    /// For schedule and time-zone errors: the offending text in `field`'s value.
    pub span: Option<Span>,
    /// For [`ErrorCode::StaleVersion`]: the version stored now.
    pub current_version: Option<String>,
    /// For [`ErrorCode::Forbidden`]: what the role lacked, and where. Boxed, so that every
    /// command's `Result` stays within clippy's bound for error sizes.
    pub forbidden: Option<Box<Refusal>>,
}

/// What a refused role lacked ([`ErrorCode::Forbidden`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    /// The capability needed.
    pub capability: Capability,
    /// The tenant it was needed in; `null`: an admin-only action.
    pub tenant: Option<String>,
}

impl CommandError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        let message = message.into();
        CommandError {
            code,
            // A message may quote a URL (a database's, a handler's): the one redaction shows it.
            message: rota::redact::text(&message).into_owned(),
            field: None,
            cron_field: None,
            span: None,
            current_version: None,
            forbidden: None,
        }
    }

    pub fn not_connected() -> Self {
        CommandError::new(
            ErrorCode::NotConnected,
            "no database is open; choose Local or Connected mode first",
        )
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        CommandError {
            field: Some(field.to_owned()),
            ..CommandError::new(ErrorCode::Invalid, message)
        }
    }
}

/// The core names fields as people read them ("job name", "max_concurrent"); commands name
/// them as their input types do, so the UI can put the message next to the right input.
fn input_field(core_field: &str) -> String {
    let field = match core_field {
        "tenant name" | "job name" | "name" => "name",
        "max_concurrent" => "maxConcurrent",
        "timeout" => "timeoutSeconds",
        "viewer time zone" => "viewerTimezone",
        // A job's policies (`JobInput.policy`).
        "max_retries" => "policy.maxRetries",
        "backoff" => "policy.backoff",
        "backoff_initial" => "policy.backoffInitialSeconds",
        "backoff_multiplier" => "policy.backoffMultiplier",
        "backoff_max" => "policy.backoffMaxSeconds",
        "retry_jitter" => "policy.retryJitter",
        "overlap" => "policy.overlap",
        "missed" => "policy.missed",
        "missed_max_runs" => "policy.missedMaxRuns",
        "catch_up_window" => "policy.catchUpWindowSeconds",
        "auto_disable_after" => "policy.autoDisableAfter",
        "jitter_window" => "policy.jitterWindowSeconds",
        // A tenant's policy (`TenantInput.policy`).
        "rate_limit" => "policy.rateLimit",
        "default_max_retries" => "policy.defaultMaxRetries",
        "default_auto_disable_after" => "policy.defaultAutoDisableAfter",
        other => other,
    };
    match field.strip_prefix("handler.") {
        Some("working_dir") => "handler.workingDir".to_owned(),
        Some("run_as") => "handler.runAs".to_owned(),
        _ => field.to_owned(),
    }
}

/// Converts a byte range of `text` to UTF-16 offsets.
fn utf16_span(text: &str, bytes: std::ops::Range<usize>) -> Span {
    let offset = |byte: usize| {
        let byte = byte.min(text.len());
        let prefix = text.get(..byte).unwrap_or(text);
        u32::try_from(prefix.encode_utf16().count()).unwrap_or(u32::MAX)
    };
    Span { start: offset(bytes.start), end: offset(bytes.end) }
}

impl From<rota::Error> for CommandError {
    fn from(error: rota::Error) -> Self {
        let message = error.to_string();
        let code = match error.code() {
            rota::ErrorCode::Invalid => ErrorCode::Invalid,
            rota::ErrorCode::NotFound => ErrorCode::NotFound,
            rota::ErrorCode::AlreadyExists => ErrorCode::AlreadyExists,
            rota::ErrorCode::StaleVersion => ErrorCode::StaleVersion,
            rota::ErrorCode::Database => ErrorCode::Database,
            rota::ErrorCode::Forbidden => ErrorCode::Forbidden,
            _ => ErrorCode::Internal,
        };
        let mut command_error = CommandError::new(code, message);
        match &error {
            rota::Error::Invalid { field, .. } => command_error.field = Some(input_field(field)),
            rota::Error::Schedule(cron) => command_error = schedule_error(cron, None),
            rota::Error::StaleVersion { current, .. } => {
                command_error.current_version = Some(current.to_string());
            }
            rota::Error::Forbidden { capability, tenant } => {
                command_error.forbidden = Some(Box::new(Refusal {
                    capability: (*capability).into(),
                    tenant: tenant.clone(),
                }));
            }
            _ => {}
        }
        command_error
    }
}

/// The runtime's errors carry the core's codes; a database that did not answer in time is a
/// database error, like one that refused the connection.
impl From<rota::runtime::RuntimeError> for CommandError {
    fn from(error: rota::runtime::RuntimeError) -> Self {
        use rota::runtime::RuntimeError;
        let message = error.to_string();
        match error {
            RuntimeError::Core(error) => CommandError::from(error),
            RuntimeError::Migrate(error) => CommandError { message, ..CommandError::from(error) },
            other => CommandError::new(
                match other.code() {
                    rota::ErrorCode::Database => ErrorCode::Database,
                    _ => ErrorCode::Internal,
                },
                message,
            ),
        }
    }
}

/// A schedule error, pointing at the cron field and its text. `expression` is the text the
/// span refers to (the zone name for time-zone errors), when the caller has it.
pub fn schedule_error(error: &rota::cron::CronError, expression: Option<&str>) -> CommandError {
    let is_zone = error.field() == rota::cron::Field::TimeZone;
    let field = if is_zone { "timezone" } else { "schedule" };
    let span = match expression {
        Some(text) => utf16_span(text, error.span()),
        // Without the text, the span is only exact for ASCII, which every valid field is.
        None => Span {
            start: u32::try_from(error.span().start).unwrap_or(u32::MAX),
            end: u32::try_from(error.span().end).unwrap_or(u32::MAX),
        },
    };
    CommandError {
        field: Some(field.to_owned()),
        cron_field: (!is_zone).then(|| error.field().name().to_owned()),
        span: Some(span),
        ..CommandError::new(ErrorCode::Invalid, error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_field_names_become_input_names() {
        assert_eq!(input_field("job name"), "name");
        assert_eq!(input_field("max_concurrent"), "maxConcurrent");
        assert_eq!(input_field("handler.working_dir"), "handler.workingDir");
        assert_eq!(input_field("payload"), "payload");
        assert_eq!(input_field("handler.url"), "handler.url");
        assert_eq!(input_field("backoff_multiplier"), "policy.backoffMultiplier");
        assert_eq!(input_field("jitter_window"), "policy.jitterWindowSeconds");
        assert_eq!(input_field("rate_limit"), "policy.rateLimit");
    }

    #[test]
    fn spans_count_utf16_units() {
        assert_eq!(utf16_span("0 é 60", 5..7), Span { start: 4, end: 6 });
        assert_eq!(utf16_span("abc", 1..10), Span { start: 1, end: 3 });
    }

    #[test]
    fn schedule_errors_point_at_the_field() {
        let error = rota::cron::Schedule::parse("0 25 * * *", "UTC").unwrap_err();
        let converted = CommandError::from(rota::Error::Schedule(error));
        assert_eq!(converted.code, ErrorCode::Invalid);
        assert_eq!(converted.field.as_deref(), Some("schedule"));
        assert_eq!(converted.cron_field.as_deref(), Some("hour"));
        assert_eq!(converted.span, Some(Span { start: 2, end: 4 }));
    }

    #[test]
    fn refusals_name_the_capability_and_the_tenant() {
        let converted = CommandError::from(rota::Error::Forbidden {
            capability: rota::access::Capability::Operate,
            tenant: Some("acme".into()),
        });
        assert_eq!(converted.code, ErrorCode::Forbidden);
        let refusal = converted.forbidden.as_deref().expect("a refusal");
        assert_eq!(refusal.capability, Capability::Operate);
        assert_eq!(refusal.tenant.as_deref(), Some("acme"));
        assert_eq!(converted.message, "not allowed: operate on tenant acme");
        let admin_only = CommandError::from(rota::Error::Forbidden {
            capability: rota::access::Capability::Admin,
            tenant: None,
        });
        assert_eq!(
            admin_only.forbidden.as_deref(),
            Some(&Refusal { capability: Capability::Admin, tenant: None })
        );
    }
}
