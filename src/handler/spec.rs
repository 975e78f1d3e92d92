//! What a job runs, as stored in the jobs table and in the named-handler table: JSON tagged by
//! `type`, for example `{"type":"http","url":"https://example.com/hook"}` or
//! `{"type":"command","program":"/usr/local/bin/backup","args":["--full"]}`.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde::{Deserialize, Serialize};

use super::command::ENV_NAMES;
use super::isolation::CommandLimits;

/// What a job runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HandlerSpec {
    /// Call a URL with the envelope as the JSON body.
    Http(HttpSpec),
    /// Run a program with the envelope on standard input.
    Command(CommandSpec),
    /// A definition in the handler registry (such as `reports.daily`). The engine resolves it to
    /// an [`HttpSpec`] or a [`CommandSpec`] stored under that name, or to an in-process handler
    /// registered under that name in a [`super::HandlerRegistry`].
    Named { name: String },
}

impl HandlerSpec {
    /// Checks every field. The error names the field and the offending value (never a secret).
    pub fn validate(&self) -> Result<(), HandlerSpecError> {
        match self {
            HandlerSpec::Http(http) => http.validate(),
            HandlerSpec::Command(command) => command.validate(),
            HandlerSpec::Named { name } => validate_handler_name(name),
        }
    }

    /// `http`, `command` or `named`: the serialized `type` tag.
    pub fn kind(&self) -> &'static str {
        match self {
            HandlerSpec::Http(_) => "http",
            HandlerSpec::Command(_) => "command",
            HandlerSpec::Named { .. } => "named",
        }
    }
}

/// The HTTP methods a job may use.
pub const HTTP_METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];

/// Headers that Rota sets itself on every call; a spec may not override them. (`User-Agent` is
/// set too, but a spec may replace it.) `Rota-Signature` is set when the tenant has a secret.
pub const RESERVED_HEADERS: [&str; 7] = [
    "rota-signature",
    "content-type",
    "content-length",
    "idempotency-key",
    "host",
    "transfer-encoding",
    "connection",
];

/// Call a URL. The body is the envelope as JSON (except for `GET` and `HEAD`, which carry none);
/// Rota adds `Content-Type: application/json`, `Idempotency-Key` and `User-Agent: rota/<version>`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// `POST` unless set; case-insensitive; one of [`HTTP_METHODS`].
    #[serde(default = "default_method")]
    pub method: String,
    /// An absolute `http` or `https` URL.
    pub url: String,
    /// Extra request headers. Values of headers whose name looks secret (authorization, tokens,
    /// cookies, ...) are redacted from `Debug` output and never appear in errors.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Which redirects are followed: none unless set (a 3xx is a failed run naming the
    /// `Location`); `same-origin` follows those to the same scheme, host and port only, so the
    /// headers, signature and body never reach another origin.
    #[serde(default, skip_serializing_if = "FollowRedirects::is_none")]
    pub follow_redirects: FollowRedirects,
}

/// Which redirects an HTTP handler follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FollowRedirects {
    /// None: a 3xx answer ends the run as failed.
    #[default]
    None,
    /// Those to the same origin (scheme, host and port) as the handler's URL, at most 10 in a
    /// row; one to another origin ends the run as failed.
    SameOrigin,
}

crate::text_enum::text_enum!(FollowRedirects, "follow_redirects", {
    None => "none",
    SameOrigin => "same-origin",
});

impl FollowRedirects {
    pub fn is_none(&self) -> bool {
        *self == FollowRedirects::None
    }
}

fn default_method() -> String {
    "POST".to_owned()
}

impl HttpSpec {
    /// A `POST` to `url` with no extra headers.
    pub fn post(url: impl Into<String>) -> Self {
        HttpSpec {
            method: default_method(),
            url: url.into(),
            headers: BTreeMap::new(),
            follow_redirects: FollowRedirects::None,
        }
    }

    /// Adds a header (builder style).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    pub fn validate(&self) -> Result<(), HandlerSpecError> {
        self.parsed_method()?;
        self.parsed_url()?;
        let mut seen = BTreeMap::new();
        for (name, value) in &self.headers {
            let parsed = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HandlerSpecError::InvalidHeaderName { name: name.clone() })?;
            if RESERVED_HEADERS.contains(&parsed.as_str()) {
                return Err(HandlerSpecError::ReservedHeader { name: name.clone() });
            }
            if let Some(previous) = seen.insert(parsed.as_str().to_owned(), name) {
                return Err(HandlerSpecError::DuplicateHeader {
                    first: previous.clone(),
                    second: name.clone(),
                });
            }
            HeaderValue::from_str(value)
                .map_err(|_| HandlerSpecError::InvalidHeaderValue { name: name.clone() })?;
        }
        Ok(())
    }

    /// The method, upper-cased, if it is one of [`HTTP_METHODS`].
    pub fn parsed_method(&self) -> Result<Method, HandlerSpecError> {
        let upper = self.method.to_ascii_uppercase();
        if !HTTP_METHODS.contains(&upper.as_str()) {
            return Err(HandlerSpecError::UnknownMethod { method: self.method.clone() });
        }
        Method::from_bytes(upper.as_bytes())
            .map_err(|_| HandlerSpecError::UnknownMethod { method: self.method.clone() })
    }

    /// The URL, if it parses and its scheme is `http` or `https`.
    pub fn parsed_url(&self) -> Result<Url, HandlerSpecError> {
        let url = Url::parse(&self.url).map_err(|error| HandlerSpecError::InvalidUrl {
            url: crate::redact::url(&self.url),
            reason: error.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(HandlerSpecError::UnsupportedScheme {
                url: redact_url(&url),
                scheme: url.scheme().to_owned(),
            });
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(HandlerSpecError::InvalidUrl {
                url: redact_url(&url),
                reason: "no host".into(),
            });
        }
        Ok(url)
    }
}

impl fmt::Debug for HttpSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = crate::redact::url(&self.url);
        f.debug_struct("HttpSpec")
            .field("method", &self.method)
            .field("url", &url)
            .field("headers", &Redacted(&self.headers))
            .field("follow_redirects", &self.follow_redirects)
            .finish()
    }
}

/// Run a program. Without `shell`, `program` and `args` form an argument vector (no shell ever
/// sees them); with `shell: true`, `program` is a script for `/bin/sh -c` and `args` become its
/// positional parameters `$1`, `$2`, ...
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// A path, or a name looked up in `PATH`; or the script when `shell` is true.
    pub program: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Extra environment variables. Values of variables whose name looks secret are redacted
    /// from `Debug` output.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// An absolute directory to run in; the daemon's own when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<PathBuf>,
    /// Run `program` as a `/bin/sh -c` script. Off unless the user asks for it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub shell: bool,
    /// Resource limits; unset ones come from the tenant's defaults (see
    /// [`super::isolation`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<CommandLimits>,
    /// Run as this user (Rota must run as root); the tenant's default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as: Option<String>,
    /// Text for standard input instead of the envelope JSON (a crontab line's `%` input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
}

impl CommandSpec {
    /// An argument vector: `program` with `args`, no shell.
    pub fn new<I, S>(program: impl Into<String>, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CommandSpec {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            env: BTreeMap::new(),
            working_dir: None,
            shell: false,
            limits: None,
            run_as: None,
            stdin: None,
        }
    }

    /// A script run by `/bin/sh -c`.
    pub fn shell(script: impl Into<String>) -> Self {
        CommandSpec { shell: true, ..CommandSpec::new(script, Vec::<String>::new()) }
    }

    pub fn validate(&self) -> Result<(), HandlerSpecError> {
        if self.program.trim().is_empty() {
            return Err(HandlerSpecError::EmptyProgram);
        }
        // `/bin/echo hello` typed as the program would fail at every run ("cannot start
        // `/bin/echo hello`"), on whichever machine runs it; a program path with a space is far
        // rarer than that typo, and a script with the shell option still takes any text.
        if !self.shell && self.program.contains(char::is_whitespace) {
            return Err(HandlerSpecError::ProgramWithSpaces {
                program: self.program.clone(),
                suggestion: split_suggestion(&self.program),
            });
        }
        if self.program.contains('\0') {
            return Err(HandlerSpecError::NulByte { field: "program".into() });
        }
        if let Some(index) = self.args.iter().position(|arg| arg.contains('\0')) {
            return Err(HandlerSpecError::NulByte { field: format!("args[{index}]") });
        }
        for (name, value) in &self.env {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                return Err(HandlerSpecError::InvalidEnvName { name: name.clone() });
            }
            if ENV_NAMES.contains(&name.as_str()) {
                return Err(HandlerSpecError::ReservedEnvName { name: name.clone() });
            }
            if is_loader_variable(name) {
                return Err(HandlerSpecError::LoaderEnvName { name: name.clone() });
            }
            if value.contains('\0') {
                return Err(HandlerSpecError::NulByte { field: format!("env[{name}]") });
            }
        }
        if let Some(dir) = &self.working_dir {
            if !dir.is_absolute() {
                return Err(HandlerSpecError::RelativeWorkingDir { path: dir.clone() });
            }
        }
        if let Some(limits) = &self.limits {
            limits.validate()?;
        }
        if let Some(user) = &self.run_as {
            validate_user_name(user)?;
        }
        if let Some(stdin) = &self.stdin {
            if stdin.contains('\0') {
                return Err(HandlerSpecError::NulByte { field: "stdin".into() });
            }
            if stdin.len() > STDIN_LIMIT {
                return Err(HandlerSpecError::StdinTooLong { bytes: stdin.len() });
            }
        }
        Ok(())
    }
}

/// How a program with spaces was probably meant: "did you mean program `/bin/echo` with argument
/// `hello`?", or the shell option when quotes or backslashes make a plain split a guess.
fn split_suggestion(program: &str) -> String {
    if program.contains(['\'', '"', '\\', '$', '|', '&', ';', '<', '>', '`']) {
        return "it reads like a shell command line: turn on the shell option to run it as a \
                script"
            .to_owned();
    }
    let mut words = program.split_whitespace();
    let first = words.next().unwrap_or_default();
    let rest: Vec<String> = words.map(|word| format!("`{word}`")).collect();
    let arguments = match rest.as_slice() {
        [] => String::new(),
        [one] => format!(" with argument {one}"),
        many => format!(" with arguments {}", many.join(", ")),
    };
    format!(
        "did you mean program `{first}`{arguments}? (arguments go in args; turn on the shell \
         option to run a script)"
    )
}

/// Variables the dynamic loader or the C library act on by loading code or data from where
/// they point, refused in jobs' environments (besides every `LD_*`): glibc's `UNSECURE_ENVVARS`
/// (`sysdeps/generic/unsecvars.h`, what glibc itself drops for set-user-ID programs) with
/// `GLIBC_TUNABLES`. Two names of that list are not refused: `TMPDIR` and `TZDIR` only say
/// where a program puts temporary files or reads zone files, harmless to a program running as
/// its own user; they are on glibc's list because a set-user-ID program would write or read
/// there with its owner's rights, and Rota's wrapper never sees a job's variables anyway (they
/// are applied only when it becomes the program, after dropping privileges).
pub const LOADER_VARIABLES: [&str; 11] = [
    "GCONV_PATH",
    "GETCONF_DIR",
    "GLIBC_TUNABLES",
    "HOSTALIASES",
    "LOCALDOMAIN",
    "LOCPATH",
    "MALLOC_TRACE",
    "NIS_PATH",
    "NLSPATH",
    "RESOLV_HOST_CONF",
    "RES_OPTIONS",
];

/// Whether `name` is a loader variable: any `LD_*`, or one of [`LOADER_VARIABLES`].
pub fn is_loader_variable(name: &str) -> bool {
    name.starts_with("LD_") || LOADER_VARIABLES.contains(&name)
}

/// Largest `stdin` text a command spec may carry.
pub const STDIN_LIMIT: usize = 64 * 1024;

/// A user name for `run_as`: what `useradd` accepts (letters, digits, `_`, `-`, `.`, a final
/// `$`), at most 32 characters, not starting with `-`.
pub fn validate_user_name(name: &str) -> Result<(), HandlerSpecError> {
    let valid = !name.is_empty()
        && name.len() <= 32
        && !name.starts_with('-')
        && name.char_indices().all(|(index, c)| {
            c.is_ascii_alphanumeric()
                || matches!(c, '_' | '-' | '.')
                || (c == '$' && index == name.len() - 1)
        });
    if valid {
        Ok(())
    } else {
        Err(HandlerSpecError::InvalidUserName { name: name.to_owned() })
    }
}

impl fmt::Debug for CommandSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandSpec")
            .field("program", &self.program)
            .field("args", &self.args)
            .field("env", &Redacted(&self.env))
            .field("working_dir", &self.working_dir)
            .field("shell", &self.shell)
            .field("limits", &self.limits)
            .field("run_as", &self.run_as)
            .field("stdin", &self.stdin.as_ref().map(|text| format!("({} bytes)", text.len())))
            .finish()
    }
}

/// Handler names (in [`HandlerSpec::Named`] and the registry): 1-200 ASCII letters, digits,
/// `.`, `_` and `-`, starting with a letter or digit, such as `reports.daily`.
pub fn validate_handler_name(name: &str) -> Result<(), HandlerSpecError> {
    let reason = if let Some(hidden) = crate::tenant::hidden_character(name) {
        // Named first: an invisible character is the one thing a reader cannot see.
        format!(
            "must not contain control or format characters; it contains U+{:04X}",
            u32::from(hidden)
        )
    } else if name.is_empty() {
        "must not be empty".to_owned()
    } else if name.len() > 200 {
        "must be at most 200 characters".to_owned()
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        "must start with a letter or digit".to_owned()
    } else if !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')) {
        "may contain only ASCII letters, digits, '.', '_' and '-'".to_owned()
    } else {
        return Ok(());
    };
    Err(HandlerSpecError::InvalidName { name: name.to_owned(), reason })
}

/// Why a [`HandlerSpec`] is invalid. Messages start with the field and quote the value, except
/// header values, which may be secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandlerSpecError {
    #[error("url: {url:?} is not a valid URL: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("url: {url:?} has scheme {scheme:?}; only http and https are supported")]
    UnsupportedScheme { url: String, scheme: String },
    #[error("method: {method:?} is not supported; allowed: GET, HEAD, POST, PUT, PATCH, DELETE")]
    UnknownMethod { method: String },
    #[error("headers: {name:?} is not a valid header name")]
    InvalidHeaderName { name: String },
    #[error("headers: the value of {name:?} is not a valid header value (control characters?)")]
    InvalidHeaderValue { name: String },
    #[error("headers: {name:?} is set by Rota and cannot be overridden")]
    ReservedHeader { name: String },
    #[error("headers: {first:?} and {second:?} are the same header (names ignore case)")]
    DuplicateHeader { first: String, second: String },
    #[error("program: must not be empty")]
    EmptyProgram,
    #[error("program: {program:?} contains spaces, so no program has that name; {suggestion}")]
    ProgramWithSpaces { program: String, suggestion: String },
    #[error("{field}: must not contain NUL bytes")]
    NulByte { field: String },
    #[error("env: {name:?} is not a valid variable name (it must be non-empty, without '=')")]
    InvalidEnvName { name: String },
    #[error("env: {name:?} is set by Rota for every run and cannot be overridden")]
    ReservedEnvName { name: String },
    #[error(
        "env: {name:?} is refused: the dynamic loader or the C library would load code or data \
         from where it points (LD_* and glibc's other unsafe variables)"
    )]
    LoaderEnvName { name: String },
    #[error("working_dir: {path:?} must be an absolute path")]
    RelativeWorkingDir { path: PathBuf },
    #[error("name: {name:?} is not a valid handler name: {reason}")]
    InvalidName { name: String, reason: String },
    #[error("limits: {name} {value} is out of range; allowed {allowed}")]
    InvalidLimit { name: &'static str, value: u64, allowed: String },
    #[error("run_as: {name:?} is not a valid user name")]
    InvalidUserName { name: String },
    #[error("stdin: {bytes} bytes is too long; at most 65536")]
    StdinTooLong { bytes: usize },
}

impl HandlerSpecError {
    /// The job-level validation error for this problem, on the handler's sub-field
    /// (`handler.url`, `handler.program`, `handler.env`, ...), so that a form can show it next to
    /// the input at fault.
    pub fn into_field_error(self) -> crate::error::Error {
        let field = format!("handler.{}", self.field());
        let message = self.to_string();
        // Messages start with the field (`url: ...`, `args[0]: ...`); the rest is the reason.
        let reason = message.split_once(": ").map_or(message.as_str(), |(_, reason)| reason);
        crate::error::Error::invalid(field, self.value(), reason)
    }

    /// The offending value, as the message quotes it (never a header's value, which may be a
    /// secret).
    pub fn value(&self) -> String {
        match self {
            HandlerSpecError::InvalidUrl { url, .. }
            | HandlerSpecError::UnsupportedScheme { url, .. } => url.clone(),
            HandlerSpecError::UnknownMethod { method } => method.clone(),
            HandlerSpecError::InvalidHeaderName { name }
            | HandlerSpecError::InvalidHeaderValue { name }
            | HandlerSpecError::ReservedHeader { name }
            | HandlerSpecError::DuplicateHeader { second: name, .. }
            | HandlerSpecError::InvalidEnvName { name }
            | HandlerSpecError::ReservedEnvName { name }
            | HandlerSpecError::LoaderEnvName { name }
            | HandlerSpecError::InvalidName { name, .. }
            | HandlerSpecError::InvalidUserName { name } => name.clone(),
            HandlerSpecError::EmptyProgram => String::new(),
            HandlerSpecError::ProgramWithSpaces { program, .. } => program.clone(),
            HandlerSpecError::NulByte { field } => field.clone(),
            HandlerSpecError::RelativeWorkingDir { path } => path.display().to_string(),
            HandlerSpecError::InvalidLimit { value, .. } => value.to_string(),
            HandlerSpecError::StdinTooLong { bytes } => format!("{bytes} bytes"),
        }
    }

    /// The field at fault: `url`, `method`, `headers`, `program`, `args`, `env`, `working_dir`
    /// or `name`.
    pub fn field(&self) -> &'static str {
        match self {
            HandlerSpecError::InvalidUrl { .. } | HandlerSpecError::UnsupportedScheme { .. } => {
                "url"
            }
            HandlerSpecError::UnknownMethod { .. } => "method",
            HandlerSpecError::InvalidHeaderName { .. }
            | HandlerSpecError::InvalidHeaderValue { .. }
            | HandlerSpecError::ReservedHeader { .. }
            | HandlerSpecError::DuplicateHeader { .. } => "headers",
            HandlerSpecError::EmptyProgram | HandlerSpecError::ProgramWithSpaces { .. } => {
                "program"
            }
            HandlerSpecError::NulByte { field } => match field.split('[').next() {
                Some("args") => "args",
                Some("env") => "env",
                Some("stdin") => "stdin",
                _ => "program",
            },
            HandlerSpecError::InvalidLimit { .. } => "limits",
            HandlerSpecError::InvalidUserName { .. } => "run_as",
            HandlerSpecError::StdinTooLong { .. } => "stdin",
            HandlerSpecError::InvalidEnvName { .. }
            | HandlerSpecError::ReservedEnvName { .. }
            | HandlerSpecError::LoaderEnvName { .. } => "env",
            HandlerSpecError::RelativeWorkingDir { .. } => "working_dir",
            HandlerSpecError::InvalidName { .. } => "name",
        }
    }
}

/// Whether a header or variable name suggests its value is a credential
/// ([`crate::redact::looks_secret`]).
pub(crate) fn looks_secret(name: &str) -> bool {
    crate::redact::looks_secret(name)
}

/// The URL as it may be shown ([`crate::redact::parsed_url`]: password, lone user name and
/// secret query values hidden), for messages and logs.
pub(crate) fn redact_url(url: &Url) -> String {
    crate::redact::parsed_url(url)
}

/// Debug view of a name-to-value map that hides values whose name looks secret.
struct Redacted<'a>(&'a BTreeMap<String, String>);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(name, value)| {
                let shown: &dyn fmt::Debug =
                    if looks_secret(name) { &RedactedValue } else { value };
                (name, shown)
            }))
            .finish()
    }
}

struct RedactedValue;

impl fmt::Debug for RedactedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn http(url: &str) -> HandlerSpec {
        HandlerSpec::Http(HttpSpec::post(url))
    }

    fn command(program: &str) -> CommandSpec {
        CommandSpec::new(program, ["--flag"])
    }

    #[test]
    fn a_program_with_spaces_is_refused_with_the_split_it_meant() {
        let typo = CommandSpec::new("/bin/echo hello", Vec::<String>::new());
        let error = typo.validate().unwrap_err();
        assert_eq!(error.field(), "program");
        assert_eq!(error.value(), "/bin/echo hello");
        assert_eq!(
            error.to_string(),
            "program: \"/bin/echo hello\" contains spaces, so no program has that name; did you \
             mean program `/bin/echo` with argument `hello`? (arguments go in args; turn on the \
             shell option to run a script)"
        );
        let two = CommandSpec::new("backup  --full\t--quiet", Vec::<String>::new());
        assert!(two
            .validate()
            .unwrap_err()
            .to_string()
            .contains("did you mean program `backup` with arguments `--full`, `--quiet`?"));
        // Quotes and pipes make a split a guess: the shell option is what is offered.
        let line = CommandSpec::new("grep 'a b' /var/log/syslog | wc -l", Vec::<String>::new());
        assert!(line.validate().unwrap_err().to_string().contains("turn on the shell option"));
        // The same text as a script is fine, and so are arguments with spaces.
        assert_eq!(CommandSpec::shell("/bin/echo hello").validate(), Ok(()));
        assert_eq!(CommandSpec::new("/bin/echo", ["hello world"]).validate(), Ok(()));
    }

    #[test]
    fn json_shape_is_tagged_by_type_with_defaults() {
        let parsed: HandlerSpec =
            serde_json::from_value(json!({"type": "http", "url": "https://example.com/hook"}))
                .unwrap();
        assert_eq!(parsed, http("https://example.com/hook"));
        assert_eq!(
            serde_json::to_value(&parsed).unwrap(),
            json!({"type": "http", "method": "POST", "url": "https://example.com/hook"})
        );

        let parsed: HandlerSpec = serde_json::from_value(
            json!({"type": "command", "program": "/bin/backup", "args": ["--flag"]}),
        )
        .unwrap();
        assert_eq!(parsed, HandlerSpec::Command(CommandSpec::new("/bin/backup", ["--flag"])));

        let parsed: HandlerSpec =
            serde_json::from_value(json!({"type": "named", "name": "reports.daily"})).unwrap();
        assert_eq!(parsed, HandlerSpec::Named { name: "reports.daily".into() });
        assert_eq!(parsed.kind(), "named");
    }

    #[test]
    fn misspelt_fields_are_rejected_rather_than_ignored() {
        let error = serde_json::from_value::<HandlerSpec>(
            json!({"type": "http", "url": "https://example.com", "header": {}}),
        )
        .unwrap_err();
        assert!(error.to_string().contains("header"), "{error}");
    }

    #[test]
    fn valid_specs_pass() {
        http("https://example.com/hook").validate().unwrap();
        let spec =
            HttpSpec { method: "put".into(), ..HttpSpec::post("http://127.0.0.1:8080/x?y=1") }
                .with_header("Authorization", "Bearer abc")
                .with_header("User-Agent", "custom");
        HandlerSpec::Http(spec).validate().unwrap();
        let mut spec = command("backup");
        spec.env.insert("MODE".into(), "full".into());
        spec.working_dir = Some("/var/tmp".into());
        HandlerSpec::Command(spec).validate().unwrap();
        HandlerSpec::Command(CommandSpec::shell("echo hi | wc -c")).validate().unwrap();
        HandlerSpec::Named { name: "reports.daily".into() }.validate().unwrap();
    }

    /// Each invalid spec, the field its error names, and a fragment of the message.
    #[test]
    fn validation_errors_name_the_field_and_value() {
        let with = |f: fn(&mut HttpSpec)| {
            let mut spec = HttpSpec::post("https://example.com/hook");
            f(&mut spec);
            HandlerSpec::Http(spec)
        };
        let cmd = |f: fn(&mut CommandSpec)| {
            let mut spec = command("backup");
            f(&mut spec);
            HandlerSpec::Command(spec)
        };
        let cases: Vec<(HandlerSpec, &str, &str)> = vec![
            (http("not a url"), "url", "\"not a url\" is not a valid URL"),
            (http("/relative/path"), "url", "not a valid URL"),
            (http("ftp://example.com/x"), "url", "scheme \"ftp\""),
            (http("file:///etc/passwd"), "url", "scheme \"file\""),
            (with(|s| s.method = "FETCH".into()), "method", "\"FETCH\" is not supported"),
            (with(|s| s.method = String::new()), "method", "\"\" is not supported"),
            (
                with(|s| drop(s.headers.insert("Bad Header".into(), "x".into()))),
                "headers",
                "\"Bad Header\" is not a valid header name",
            ),
            (
                with(|s| drop(s.headers.insert("X-Token".into(), "line\nbreak".into()))),
                "headers",
                "the value of \"X-Token\"",
            ),
            (
                with(|s| drop(s.headers.insert("Idempotency-Key".into(), "mine".into()))),
                "headers",
                "\"Idempotency-Key\" is set by Rota",
            ),
            (
                with(|s| {
                    s.headers.insert("X-A".into(), "1".into());
                    s.headers.insert("x-a".into(), "2".into());
                }),
                "headers",
                "are the same header",
            ),
            (cmd(|s| s.program = "  ".into()), "program", "program: must not be empty"),
            (cmd(|s| s.program = "a\0b".into()), "program", "program: must not contain NUL"),
            (cmd(|s| s.args.push("x\0".into())), "args", "args[1]: must not contain NUL"),
            (
                cmd(|s| drop(s.env.insert("A=B".into(), "x".into()))),
                "env",
                "\"A=B\" is not a valid variable name",
            ),
            (cmd(|s| drop(s.env.insert(String::new(), "x".into()))), "env", "\"\" is not a valid"),
            (
                cmd(|s| drop(s.env.insert("ROTA_RUN_ID".into(), "x".into()))),
                "env",
                "\"ROTA_RUN_ID\" is set by Rota",
            ),
            (
                cmd(|s| drop(s.env.insert("LD_PRELOAD".into(), "/tmp/x.so".into()))),
                "env",
                "\"LD_PRELOAD\" is refused",
            ),
            (
                cmd(|s| drop(s.env.insert("GCONV_PATH".into(), "/tmp".into()))),
                "env",
                "\"GCONV_PATH\" is refused",
            ),
            (
                cmd(|s| s.working_dir = Some("relative/dir".into())),
                "working_dir",
                "\"relative/dir\" must be an absolute path",
            ),
            (HandlerSpec::Named { name: String::new() }, "name", "must not be empty"),
            (
                HandlerSpec::Named { name: "reports daily".into() },
                "name",
                "\"reports daily\" is not a valid handler name",
            ),
            (HandlerSpec::Named { name: ".hidden".into() }, "name", "must start with"),
            (HandlerSpec::Named { name: "reports\u{202E}".into() }, "name", "U+202E"),
            (HandlerSpec::Named { name: "re\u{200D}ports".into() }, "name", "U+200D"),
        ];
        for (spec, field, fragment) in cases {
            let error = spec.validate().expect_err(&format!("{spec:?} should be invalid"));
            assert_eq!(error.field(), field, "{error}");
            let message = error.to_string();
            assert!(message.starts_with(field), "{message:?} should start with {field:?}");
            assert!(message.contains(fragment), "{message:?} should contain {fragment:?}");
        }
    }

    #[test]
    fn errors_never_echo_header_values() {
        let spec = HttpSpec::post("https://example.com").with_header("Authorization", "s3cr3t\n");
        let error = spec.validate().unwrap_err();
        assert!(!error.to_string().contains("s3cr3t"), "{error}");
        let spec = HttpSpec::post("ftp://user:hunter2@example.com/");
        let error = spec.validate().unwrap_err();
        assert!(!error.to_string().contains("hunter2"), "{error}");
    }

    #[test]
    fn debug_redacts_secret_looking_headers_env_and_url_passwords() {
        let spec = HttpSpec::post("https://bot:hunter2@example.com/hook?x=1")
            .with_header("Authorization", "Bearer AAA-secret")
            .with_header("X-Api-Key", "BBB-secret")
            .with_header("Cookie", "session=CCC-secret")
            .with_header("X-Request-Source", "rota-visible");
        let debug = format!("{:?}", HandlerSpec::Http(spec));
        for secret in ["hunter2", "AAA-secret", "BBB-secret", "CCC-secret"] {
            assert!(!debug.contains(secret), "{secret} leaked in {debug}");
        }
        assert!(debug.contains("rota-visible"), "{debug}");
        assert!(debug.contains("\"Authorization\": <redacted>"), "{debug}");
        assert!(debug.contains("https://bot:***@example.com/hook?x=1"), "{debug}");

        let mut spec = command("backup");
        spec.env.insert("DB_PASSWORD".into(), "DDD-secret".into());
        spec.env.insert("GITHUB_TOKEN".into(), "EEE-secret".into());
        spec.env.insert("MODE".into(), "full-visible".into());
        let debug = format!("{spec:?}");
        assert!(!debug.contains("DDD-secret") && !debug.contains("EEE-secret"), "{debug}");
        assert!(debug.contains("full-visible"), "{debug}");
    }
}
