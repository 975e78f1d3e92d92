//! One redaction for everything Rota shows: CLI text and JSON, `rota export`, logs, error
//! messages, audit entries, notification delivery errors and the console's data all go through
//! these functions, so that a secret hidden in one place is hidden in every other.
//!
//! What counts as secret:
//! - **URL user info.** The password is replaced by [`MASK`]; the user name is kept when a
//!   password follows it (it names the account: `https://bot:***@host`) and replaced too when it
//!   stands alone (`https://TOKEN@host` is how many services take a token: `https://***@host`).
//! - **Query parameters and fragment parameters whose name looks secret** ([`looks_secret`]:
//!   `?password=`, `?api_key=`, `#access_token=`, `?sig=`, ...): their values become [`MASK`].
//! - **Headers and environment variables whose name looks secret** (`Authorization`,
//!   `Proxy-Authorization`, `Cookie`, `Set-Cookie`, `X-Api-Key`, `*_TOKEN`, `DB_PASSWORD`, ...):
//!   their values become [`SECRET`].
//!
//! URLs are read with a real parser (the `url` crate, WHATWG rules: the user info ends at the
//! *last* `@` of the authority), so a password containing `@` is hidden whole. Text that does
//! not parse as a URL is masked conservatively (everything up to its last `@`, every query
//! value). Secrets in a URL's *path* (`https://hooks.example/services/T0/B0/XXXX`) cannot be told
//! from a path and are shown: keep credentials in a header, the user info or a query parameter.

use std::borrow::Cow;

use serde_json::Value;
use url::Url;

use crate::handler::HandlerSpec;

/// What replaces a secret part of a URL (password, lone user name, query value).
pub const MASK: &str = "***";

/// What replaces a whole secret value: a header's, a variable's, a JSON field's.
pub const SECRET: &str = "(secret)";

/// What an audit entry shows for a secret that a change replaced.
pub const SECRET_REPLACED: &str = "(secret, replaced)";

/// Fragments of names (lower-cased) whose values are secrets, for headers, environment
/// variables, query parameters and JSON fields. Matching is by substring, any case: a few
/// harmless names are hidden too (`X-Monkey`), which costs less than one credential shown.
const SECRET_MARKERS: [&str; 10] =
    ["auth", "token", "secret", "passw", "pwd", "key", "cookie", "credential", "sig", "session"];

/// Fields of Rota's own records whose names contain a marker but whose values are not secrets
/// (a run's lease counter, the key receivers deduplicate on). Only for JSON field names, never
/// for headers or variables.
const RECORD_FIELDS: [&str; 3] = ["fencing_token", "idempotency_key", "idempotencyKey"];

/// Whether a header, variable, query parameter or field name suggests that its value is a
/// credential.
pub fn looks_secret(name: &str) -> bool {
    // Without lower-casing a copy: every key of every audit snapshot comes here (a bulk action
    // over 10,000 jobs asks for about a million names).
    let name = name.as_bytes();
    SECRET_MARKERS.iter().any(|marker| {
        name.windows(marker.len()).any(|window| window.eq_ignore_ascii_case(marker.as_bytes()))
    })
}

/// `url` as it may be shown: see the module documentation. Text that does not parse as a URL is
/// masked conservatively.
pub fn url(text: &str) -> String {
    match Url::parse(text) {
        // A URL without an authority (`mailto:`, `foo:bar`) keeps `@` in its path, where the
        // parser does not look for user info; mask it like unparsed text.
        Ok(parsed) if parsed.cannot_be_a_base() && text.contains('@') => unparsed_url(text),
        Ok(parsed) => parsed_url(&parsed),
        Err(_) => unparsed_url(text),
    }
}

/// [`url`] for a URL already parsed.
pub fn parsed_url(url: &Url) -> String {
    let mut shown = url.clone();
    // Both only fail for URLs that cannot have credentials, which then have none.
    if url.password().is_some() {
        let _ = shown.set_password(Some(MASK));
    } else if !url.username().is_empty() {
        let _ = shown.set_username(MASK);
    }
    if let Some(query) = url.query() {
        if let Cow::Owned(masked) = mask_pairs(query) {
            shown.set_query(Some(&masked));
        }
    }
    if let Some(fragment) = url.fragment() {
        if let Cow::Owned(masked) = mask_pairs(fragment) {
            shown.set_fragment(Some(&masked));
        }
    }
    shown.to_string()
}

/// Whether [`url`] hides anything in `text`: what `rota export` writes as an `{env: NAME}`
/// reference instead of the URL.
pub fn url_has_secret(text: &str) -> bool {
    match Url::parse(text) {
        // Compared with the parser's own serialization, which may differ from `text` (a `/`
        // added after the host, percent-encoding) without anything being hidden.
        Ok(parsed) if !(parsed.cannot_be_a_base() && text.contains('@')) => {
            parsed_url(&parsed) != parsed.as_str()
        }
        _ => unparsed_url(text) != text,
    }
}

/// `name=value` pairs with the values of secret-looking names masked; borrowed when nothing
/// was. Pairs are separated by `&` (and, as some servers read them, by `;`): from a secret
/// pair to the next `&`, everything is masked, so a secret value holding a `;` is hidden whole.
fn mask_pairs(pairs: &str) -> Cow<'_, str> {
    let mut changed = false;
    let segments: Vec<Cow<'_, str>> = pairs
        .split('&')
        .map(|segment| {
            let mut offset = 0;
            for part in segment.split(';') {
                // Every `=` may end a name: a value may itself hold `name=value` (a raw `?`
                // in a password moves the rest of the URL into one query value, such as
                // `=@host/?password=S3CRET`), so the text before each `=` is judged.
                let mut name_start = 0;
                while let Some(equals) = part[name_start..].find('=').map(|at| name_start + at) {
                    let (name, value) = (&part[name_start..equals], &part[equals + 1..]);
                    if pair_is_secret(name)
                        && !value.is_empty()
                        && !(value == MASK && offset + part.len() == segment.len())
                    {
                        changed = true;
                        let kept = &segment[..offset + equals + 1];
                        return Cow::Owned(format!("{kept}{MASK}"));
                    }
                    name_start = equals + 1;
                }
                offset += part.len() + 1;
            }
            Cow::Borrowed(segment)
        })
        .collect();
    if changed {
        Cow::Owned(segments.join("&"))
    } else {
        Cow::Borrowed(pairs)
    }
}

/// Whether a query parameter's name (percent-encoded, `+` for spaces) looks secret.
fn pair_is_secret(encoded: &str) -> bool {
    let decoded: String = url::form_urlencoded::parse(encoded.as_bytes())
        .map(|(name, value)| format!("{name}{value}"))
        .collect();
    looks_secret(&decoded) || looks_secret(encoded)
}

/// A URL-like text the parser refused: everything between the scheme and the last `@` is user
/// info, and every `=` value is masked whatever its name (where the query starts cannot be
/// trusted in such text: a password may hold a `?`, a query value an `@`).
fn unparsed_url(text: &str) -> String {
    let start = text.find("://").map_or(0, |index| index + 3);
    let (head, rest) = text.split_at(start);
    let rest = match rest.rfind('@') {
        Some(at) => format!("{MASK}{}", &rest[at..]),
        None => rest.to_owned(),
    };
    let mut out = String::with_capacity(head.len() + rest.len());
    out.push_str(head);
    let mut in_value = false;
    for c in rest.chars() {
        match c {
            '=' if !in_value => {
                in_value = true;
                out.push('=');
                out.push_str(MASK);
            }
            '&' | ';' | '#' | '?' => {
                in_value = false;
                out.push(c);
            }
            _ if in_value => {}
            _ => out.push(c),
        }
    }
    out
}

/// Free text (an error message, a log field, a run's output) with every URL in it passed
/// through [`url`]. A URL starts at a scheme followed by `://` and ends at white space or at
/// `"`, `<` or `>` (which the URL parser always percent-encodes, so a URL it printed never
/// contains them).
pub fn text(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = rest.find("://") {
        let scheme_start = rest[..found]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .last()
            .map_or(found, |(index, _)| index);
        let end = rest[found..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '<' | '>'))
            .map_or(rest.len(), |index| found + index);
        out.push_str(&rest[..scheme_start]);
        let candidate = &rest[scheme_start..end];
        // Punctuation that closes a sentence or a bracket is not part of the URL.
        let trimmed = candidate.trim_end_matches([')', ']', ',', '.', ';', ':', '\'', '!']);
        if scheme_start == found {
            // `://` with no scheme before it: mask like a URL that does not parse.
            out.push_str(&unparsed_url(trimmed));
        } else {
            out.push_str(&url(trimmed));
        }
        out.push_str(&candidate[trimmed.len()..]);
        rest = &rest[end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// [`text`] for an optional text, owned.
pub fn optional_text(value: Option<String>) -> Option<String> {
    value.map(|value| text(&value).into_owned())
}

/// A JSON document with the values under secret-looking names replaced by [`SECRET`] (a marker
/// placed already, such as [`SECRET_REPLACED`], stays), at any depth, and every string passed
/// through [`text`]. Audit snapshots, diffs and JSON output use it.
pub fn json(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| {
                    let value = match value {
                        Value::Null => Value::Null,
                        Value::String(text) if text == SECRET || text == SECRET_REPLACED => {
                            Value::String(text)
                        }
                        Value::String(_) | Value::Number(_) | Value::Bool(_)
                            if looks_secret(&key) && !RECORD_FIELDS.contains(&key.as_str()) =>
                        {
                            Value::String(SECRET.to_owned())
                        }
                        other => json(other),
                    };
                    (key, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(json).collect()),
        Value::String(value) => Value::String(string(&value)),
        other => other,
    }
}

/// A string field: a URL as a whole when it starts like one (a stored URL may hold white space
/// in its password, which [`text`] would take for the URL's end), else free text.
fn string(value: &str) -> String {
    let scheme_length = value.find("://").filter(|&end| end > 0).filter(|&end| {
        value[..end].chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    match scheme_length {
        Some(_) if !value.contains('\n') => url(value),
        _ => text(value).into_owned(),
    }
}

/// A handler as it may be shown: the URL through [`url`], the values of secret-looking headers
/// and variables replaced by [`SECRET`], URLs in the program and its arguments through [`text`].
pub fn handler(spec: &HandlerSpec) -> HandlerSpec {
    let mut shown = spec.clone();
    match &mut shown {
        HandlerSpec::Http(http) => {
            http.url = url(&http.url);
            mask_values(&mut http.headers);
        }
        HandlerSpec::Command(command) => {
            command.program = text(&command.program).into_owned();
            for arg in &mut command.args {
                *arg = text(arg).into_owned();
            }
            mask_values(&mut command.env);
        }
        HandlerSpec::Named { .. } => {}
    }
    shown
}

fn mask_values(map: &mut std::collections::BTreeMap<String, String>) {
    for (name, value) in map.iter_mut() {
        if looks_secret(name) {
            *value = SECRET.to_owned();
        }
    }
}

/// A job as it may be shown: its handler through [`handler`], its last error through [`text`].
pub fn job(mut job: crate::job::Job) -> crate::job::Job {
    job.handler = handler(&job.handler);
    job.last_error = optional_text(job.last_error);
    job
}

/// A run as it may be shown: its error, output and reason through [`text`].
pub fn run(mut run: crate::run::Run) -> crate::run::Run {
    run.error = optional_text(run.error);
    run.output = optional_text(run.output);
    run.reason = optional_text(run.reason);
    run
}

/// A log writer (a [`tracing_subscriber::fmt::MakeWriter`]) that passes what it writes through
/// [`text`]: `rota serve` and the console write every log line through it, so a URL that
/// reaches a log field by any path loses its secrets. The formatter writes each event with one
/// `write_all`, so a URL is never split between two writes.
#[derive(Debug, Clone, Copy, Default)]
pub struct Redacting<M>(pub M);

impl<'a, M: tracing_subscriber::fmt::MakeWriter<'a>> tracing_subscriber::fmt::MakeWriter<'a>
    for Redacting<M>
{
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }
}

/// What [`Redacting`] makes.
#[derive(Debug)]
pub struct RedactingWriter<W>(W);

impl<W: std::io::Write> std::io::Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = String::from_utf8_lossy(buf);
        self.0.write_all(text(&written).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Why an edited handler could not take back a secret it was shown masked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct RestoreError {
    /// `handler.url`, `handler.headers`, ...
    pub field: String,
    pub reason: String,
}

/// The handler an editor saves, given what it was shown ([`handler`] of `stored`) and edited:
/// every value still masked is taken back from `stored`. A header or variable whose value is
/// [`SECRET`] keeps its stored value (it may be renamed only by typing the value again); a URL
/// whose password or secret query value is [`MASK`] keeps the stored one; a program or argument
/// equal to what was shown keeps the stored text.
///
/// A secret is kept only for the target it was given for: when the URL's origin (scheme, host,
/// port) or the command (program, arguments, shell) changed, a masked value is refused, so that
/// someone who may edit a job but was never shown its secrets cannot send them elsewhere. A mask
/// with nothing stored behind it is refused too. The error names the field; a mask is never
/// saved as a value.
pub fn restore_handler(
    edited: HandlerSpec,
    stored: Option<&HandlerSpec>,
) -> Result<HandlerSpec, RestoreError> {
    match (edited, stored) {
        (HandlerSpec::Http(mut http), stored) => {
            let stored = match stored {
                Some(HandlerSpec::Http(stored)) => Some(stored),
                _ => None,
            };
            let masked = http.url.contains(MASK) || http.headers.values().any(|v| v == SECRET);
            if let Some(stored) = stored.filter(|_| masked) {
                let origin = |text: &str| Url::parse(text).ok().map(|url| url.origin());
                if origin(&http.url) != origin(&stored.url) {
                    return Err(RestoreError {
                        field: "handler.url".to_owned(),
                        reason: format!(
                            "the target changed (from {}): type the masked secrets again, they \
                             are never sent to another host",
                            url(&stored.url)
                        ),
                    });
                }
            }
            http.url = restore_url(&http.url, stored.map(|stored| stored.url.as_str()))?;
            restore_values(
                "handler.headers",
                &mut http.headers,
                stored.map(|stored| &stored.headers),
            )?;
            Ok(HandlerSpec::Http(http))
        }
        (HandlerSpec::Command(mut command), stored) => {
            let stored = match stored {
                Some(HandlerSpec::Command(stored)) => Some(stored),
                _ => None,
            };
            if let Some(stored) = stored {
                if command.program == text(&stored.program) {
                    command.program.clone_from(&stored.program);
                }
                for (index, arg) in command.args.iter_mut().enumerate() {
                    if let Some(original) = stored.args.get(index) {
                        if *arg == text(original) {
                            arg.clone_from(original);
                        }
                    }
                }
            }
            let same_command = stored.is_some_and(|stored| {
                command.program == stored.program
                    && command.args == stored.args
                    && command.shell == stored.shell
            });
            if !same_command && command.env.values().any(|value| value == SECRET) {
                return Err(RestoreError {
                    field: "handler.env".to_owned(),
                    reason: if stored.is_some() {
                        "the program changed: type the masked values again, they are never \
                         given to another program"
                            .to_owned()
                    } else {
                        format!("a value is {SECRET} but none is stored; type it")
                    },
                });
            }
            restore_values("handler.env", &mut command.env, stored.map(|stored| &stored.env))?;
            Ok(HandlerSpec::Command(command))
        }
        (named, _) => Ok(named),
    }
}

fn restore_values(
    field: &str,
    edited: &mut std::collections::BTreeMap<String, String>,
    stored: Option<&std::collections::BTreeMap<String, String>>,
) -> Result<(), RestoreError> {
    for (name, value) in edited.iter_mut() {
        if value != SECRET {
            continue;
        }
        match stored.and_then(|stored| stored.get(name)) {
            Some(original) => value.clone_from(original),
            None => {
                return Err(RestoreError {
                    field: field.to_owned(),
                    reason: format!("{name:?} has no stored value to keep; type its value"),
                })
            }
        }
    }
    Ok(())
}

/// `edited` with a masked password, user name or query value replaced by the one in `stored`.
pub fn restore_url(edited: &str, stored: Option<&str>) -> Result<String, RestoreError> {
    if !edited.contains(MASK) {
        return Ok(edited.to_owned());
    }
    let missing = |what: &str| RestoreError {
        field: "handler.url".to_owned(),
        reason: format!("the {what} is masked ({MASK}) but none is stored; type it"),
    };
    let stored_text = stored;
    let stored = stored.and_then(|text| Url::parse(text).ok());
    if let (Some(parsed), Some(text)) = (&stored, stored_text) {
        if edited == parsed_url(parsed) {
            // Exactly as stored, not as the parser would write it.
            return Ok(text.to_owned());
        }
    }
    // An unparsable edit is left to validation, which names the field.
    let Ok(mut url) = Url::parse(edited) else { return Ok(edited.to_owned()) };
    if url.password() == Some(MASK) {
        let password =
            stored.as_ref().and_then(Url::password).ok_or_else(|| missing("password"))?;
        let _ = url.set_password(Some(password));
    } else if url.username() == MASK && url.password().is_none() {
        let user = stored
            .as_ref()
            .map(Url::username)
            .filter(|user| !user.is_empty())
            .ok_or_else(|| missing("user name"))?;
        let _ = url.set_username(user);
    }
    let query = url.query().map(|query| restore_pairs(query, stored.as_ref().and_then(Url::query)));
    if let Some(query) = query {
        url.set_query(Some(&query.map_err(|()| missing("query value"))?));
    }
    let fragment =
        url.fragment().map(|part| restore_pairs(part, stored.as_ref().and_then(Url::fragment)));
    if let Some(fragment) = fragment {
        url.set_fragment(Some(&fragment.map_err(|()| missing("fragment value"))?));
    }
    Ok(url.to_string())
}

/// `name=***` pairs given their stored values: for each name, what follows the first
/// `name=` of the stored `&`-separated segments (what [`mask_pairs`] masked).
fn restore_pairs(edited: &str, stored: Option<&str>) -> Result<String, ()> {
    let stored_value = |name: &str| {
        stored?.split('&').find_map(|segment| {
            let mut offset = 0;
            for part in segment.split(';') {
                if let Some((stored_name, _)) = part.split_once('=') {
                    if stored_name == name {
                        return Some(segment[offset + name.len() + 1..].to_owned());
                    }
                }
                offset += part.len() + 1;
            }
            None
        })
    };
    let segments: Result<Vec<String>, ()> = edited
        .split('&')
        .map(|segment| {
            let mut offset = 0;
            for part in segment.split(';') {
                if let Some((name, value)) = part.split_once('=') {
                    if value == MASK && offset + part.len() == segment.len() {
                        let original = stored_value(name).ok_or(())?;
                        return Ok(format!("{}{name}={original}", &segment[..offset]));
                    }
                }
                offset += part.len() + 1;
            }
            Ok(segment.to_owned())
        })
        .collect();
    Ok(segments?.join("&"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::handler::{CommandSpec, HttpSpec};

    /// A raw `?` in a password ends the authority early: the parser sees a host `&` and puts
    /// the rest in one query value (`=@a.example/?password=S3CRET`) under an empty name.
    /// (CI's property test found it; the seeds tried before had missed it.)
    #[test]
    fn a_secret_pair_inside_a_query_value_is_still_hidden() {
        for text in [
            "http://a:S3CRET@&?=@a.example/?password=S3CRET&page=a&password=S3CRET",
            "error sending request for url (http://a:S3CRET@&/?=@a.example/?password=S3CRET): x",
            "https://host.example/?next=/login?token=S3CRET",
        ] {
            let shown = super::text(text);
            assert!(!shown.contains("S3CRET"), "{text} shown as {shown}");
        }
        assert_eq!(url("https://host.example/?page=a=b"), "https://host.example/?page=a=b");
    }

    #[test]
    fn urls_lose_passwords_lone_user_names_and_secret_query_values() {
        let cases = [
            ("https://bot:p%40ss@example.com/hook?x=1", "https://bot:***@example.com/hook?x=1"),
            // A password with a raw `@`: the user info ends at the last one.
            ("https://bot:p@ss@example.com/x", "https://bot:***@example.com/x"),
            ("https://ghp_token@example.com/x", "https://***@example.com/x"),
            (
                "https://example.com/x?password=hunter2&page=2&API_KEY=k1;sig=s",
                "https://example.com/x?password=***&page=2&API_KEY=***",
            ),
            (
                "https://example.com/cb#access_token=t0k&state=ok",
                "https://example.com/cb#access_token=***&state=ok",
            ),
            ("https://example.com/x?api%5Fkey=abc", "https://example.com/x?api%5Fkey=***"),
            ("postgres://rota:s3cret@db:5432/rota", "postgres://rota:***@db:5432/rota"),
            ("sqlite:///tmp/x.sqlite", "sqlite:///tmp/x.sqlite"),
            ("https://example.com/plain?x=1", "https://example.com/plain?x=1"),
            // Unparsable: everything up to the last `@`, every query value.
            ("http://u:pa ss@[bad/x?q=1", "http://***@[bad/x?q=***"),
            ("http://u:p/w@[bad/x?q=1&token=t@k&c=d", "http://***@k&c=***"),
        ];
        for (input, shown) in cases {
            assert_eq!(url(input), shown, "{input}");
        }
        assert!(!url_has_secret("https://example.com/plain?x=1"));
        assert!(!url_has_secret("https://example.com"));
        assert!(url_has_secret("https://example.com/plain?token=1"));
    }

    #[test]
    fn text_masks_every_url_inside_it() {
        let message = "error sending request for url (http://u:hunter2@127.0.0.1:9/x?token=abc): \
                       connection refused; see https://docs.example/errors.";
        let shown = text(message);
        assert!(!shown.contains("hunter2") && !shown.contains("abc"), "{shown}");
        assert!(shown.contains("(http://u:***@127.0.0.1:9/x?token=***): connection"), "{shown}");
        assert!(shown.ends_with("see https://docs.example/errors."), "{shown}");
        assert!(matches!(text("no url here"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_hides_values_under_secret_names_and_in_urls_at_any_depth() {
        let value = json!({
            "handler": {"type": "http", "url": "https://user:hunter2@api.example/x",
                        "headers": {"Authorization": "Bearer AAA", "Accept": "json"}},
            "env": {"DB_PASSWORD": "BBB", "MODE": "x"},
            "webhook_secret": "CCC",
            "api_token": null,
            "replaced": {"webhook_secret": SECRET_REPLACED},
            "list": [{"X-Api-Key": "DDD"}],
            "fencing_token": 7,
        });
        let shown = json(value).to_string();
        for secret in ["hunter2", "AAA", "BBB", "CCC", "DDD"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("\"Accept\":\"json\""), "{shown}");
        assert!(shown.contains("\"api_token\":null"), "{shown}");
        assert!(shown.contains("\"fencing_token\":7"), "{shown}");
        assert!(shown.contains(SECRET_REPLACED), "{shown}");
        assert!(shown.contains("user:***@api.example"), "{shown}");
    }

    #[test]
    fn an_edit_of_a_masked_handler_keeps_the_stored_secrets() {
        let stored = HandlerSpec::Http(
            HttpSpec::post("https://bot:p%40ss@example.com/hook?token=t1&page=1")
                .with_header("Authorization", "Bearer AAA")
                .with_header("Accept", "json"),
        );
        let HandlerSpec::Http(mut shown) = handler(&stored) else { unreachable!() };
        assert_eq!(shown.url, "https://bot:***@example.com/hook?token=***&page=1");
        assert_eq!(shown.headers["Authorization"], SECRET);
        // Untouched: exactly what was stored.
        let restored = restore_handler(HandlerSpec::Http(shown.clone()), Some(&stored)).unwrap();
        assert_eq!(restored, stored);
        // The path and a plain header changed, the secrets stayed masked.
        shown.url = "https://bot:***@example.com/other?token=***&page=2".into();
        shown.headers.insert("Accept".into(), "text".into());
        let HandlerSpec::Http(restored) =
            restore_handler(HandlerSpec::Http(shown.clone()), Some(&stored)).unwrap()
        else {
            unreachable!()
        };
        assert_eq!(restored.url, "https://bot:p%40ss@example.com/other?token=t1&page=2");
        assert_eq!(restored.headers["Authorization"], "Bearer AAA");
        // A mask with nothing behind it is refused, naming the field.
        shown.headers.insert("X-Api-Key".into(), SECRET.into());
        let error = restore_handler(HandlerSpec::Http(shown), Some(&stored)).unwrap_err();
        assert_eq!(error.field, "handler.headers");
        let error =
            restore_handler(HandlerSpec::Http(HttpSpec::post("https://u:***@example.com/")), None)
                .unwrap_err();
        assert_eq!(error.field, "handler.url");

        // Masked secrets are never sent to another host.
        let HandlerSpec::Http(mut elsewhere) = handler(&stored) else { unreachable!() };
        elsewhere.url = "https://bot:***@attacker.example/hook?token=***&page=1".into();
        let error = restore_handler(HandlerSpec::Http(elsewhere.clone()), Some(&stored));
        assert_eq!(error.unwrap_err().field, "handler.url");
        elsewhere.url = "https://attacker.example/hook".into();
        let error = restore_handler(HandlerSpec::Http(elsewhere), Some(&stored)).unwrap_err();
        assert!(error.reason.contains("the target changed"), "{error}");

        let mut command = CommandSpec::new("backup", ["--to", "s3://k:SECRET@bucket/x"]);
        command.env.insert("DB_PASSWORD".into(), "BBB".into());
        let stored = HandlerSpec::Command(command);
        let shown = handler(&stored);
        assert!(!format!("{shown:?}{}", serde_json::to_string(&shown).unwrap()).contains("SECRET@"));
        assert_eq!(restore_handler(shown.clone(), Some(&stored)).unwrap(), stored);
        // ... nor given to another program.
        let HandlerSpec::Command(mut other) = shown else { unreachable!() };
        other.program = "env".into();
        let error = restore_handler(HandlerSpec::Command(other), Some(&stored)).unwrap_err();
        assert_eq!(error.field, "handler.env");
    }
}
