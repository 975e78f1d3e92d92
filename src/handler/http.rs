//! HTTP handlers: one request with the envelope as its JSON body.
//!
//! A 2xx response is a success; anything else is a failure saying `HTTP <code> <reason>`. The
//! first [`OUTPUT_LIMIT`] bytes of the response body become the output, and reading stops there.
//! On timeout or cancellation the request future is dropped, which closes the connection.
//!
//! Redirects are followed only as the spec's `follow_redirects` says, by the client the
//! executor picks ([`super::egress`]); a 3xx that comes back is a failure naming the `Location`.
//! Under the private-network policy, a literal IP target is checked here before sending (the
//! client connects to those without a resolver) and names by the client's resolver.

use std::error::Error as _;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, LOCATION, USER_AGENT};
use reqwest::{Client, Method, Response, Url};
use tokio_util::sync::CancellationToken;

use super::outcome::{head_text, human_duration};
use super::signature::{sign, SignedRequest, SigningSecret};
use super::spec::{looks_secret, redact_url};
use super::{
    EgressPolicy, Envelope, FollowRedirects, HttpSpec, Outcome, OutcomeStatus, OUTPUT_LIMIT,
};

/// `rota/<version>`, sent unless the spec sets its own `User-Agent`.
pub(crate) const USER_AGENT_VALUE: &str = concat!("rota/", env!("CARGO_PKG_VERSION"));

/// Runs `spec` to completion, timeout or cancellation. `duration` is left to the caller. With
/// `signing` (the tenant's secret and the time in Unix seconds) the request carries a
/// `Rota-Signature` header.
pub(super) async fn run(
    client: &Client,
    egress: &EgressPolicy,
    spec: &HttpSpec,
    envelope: &Envelope,
    signing: Option<(&SigningSecret, i64)>,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Outcome {
    let (request, url) = match build(client, egress, spec, envelope, signing) {
        Ok(built) => built,
        Err(error) => return Outcome::new(OutcomeStatus::Failed, String::new(), Some(error)),
    };
    tracing::debug!(%url, method = %request.method(), "sending request");

    let mut received = Received::default();
    let ending = tokio::select! {
        biased;
        result = call(client, request, &mut received) => Ok(result),
        () = cancel.cancelled() => Err((OutcomeStatus::Cancelled, "cancelled".to_owned())),
        () = tokio::time::sleep(timeout) => {
            Err((OutcomeStatus::TimedOut, format!("timed out after {}", human_duration(timeout))))
        }
    };
    let (status, error) = match ending {
        Ok(Ok(())) => match received.status {
            Some(code) if code.is_success() => (OutcomeStatus::Succeeded, None),
            Some(code) if code.is_redirection() => {
                (OutcomeStatus::Failed, Some(redirect_error(code, &received, spec)))
            }
            Some(code) => (OutcomeStatus::Failed, Some(format!("HTTP {code}"))),
            None => (OutcomeStatus::Failed, Some("no response".to_owned())),
        },
        Ok(Err(error)) => (OutcomeStatus::Failed, Some(describe_error(&error, &url))),
        Err((status, reason)) => (status, Some(format!("{reason} waiting for {url}"))),
    };
    Outcome {
        http_status: received.status.map(|code| code.as_u16()),
        ..Outcome::new(status, received.body_text(), error)
    }
}

/// The request and the URL as it may be shown (password hidden).
fn build(
    client: &Client,
    egress: &EgressPolicy,
    spec: &HttpSpec,
    envelope: &Envelope,
    signing: Option<(&SigningSecret, i64)>,
) -> Result<(reqwest::Request, String), String> {
    let invalid = |error: super::HandlerSpecError| format!("invalid handler: {error}");
    let method = spec.parsed_method().map_err(invalid)?;
    let url = spec.parsed_url().map_err(invalid)?;
    let shown = redact_url(&url);
    // Worded like the resolver's refusal of a name, which reaches the run as a connect error.
    egress.check_url(&url).map_err(|refused| format!("cannot connect to {shown}: {refused}"))?;

    let mut headers = HeaderMap::new();
    headers.insert(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE));
    for (name, value) in &spec.headers {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            invalid(super::HandlerSpecError::InvalidHeaderName { name: name.clone() })
        })?;
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            invalid(super::HandlerSpecError::InvalidHeaderValue { name: name.to_string() })
        })?;
        value.set_sensitive(looks_secret(name.as_str()));
        headers.insert(name, value);
    }
    let key = envelope.idempotency_key();
    headers.insert(
        HeaderName::from_static("idempotency-key"),
        HeaderValue::from_str(&key).expect("a uuid and a timestamp make a valid header value"),
    );
    let target = SignedRequest::target_of(&url);

    let mut request = client.request(method.clone(), url);
    let body = if method != Method::GET && method != Method::HEAD {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        envelope.to_json()
    } else {
        String::new()
    };
    if let Some((secret, timestamp)) = signing {
        let signed = SignedRequest {
            method: method.as_str(),
            target: &target,
            idempotency_key: &key,
            body: body.as_bytes(),
        };
        let mut value =
            HeaderValue::from_str(&sign(secret, timestamp, &signed)).expect("a signature is ASCII");
        value.set_sensitive(true);
        headers.insert(HeaderName::from_static("rota-signature"), value);
    }
    if !body.is_empty() {
        request = request.body(body);
    }
    let request =
        request.headers(headers).build().map_err(|error| describe_error(&error, &shown))?;
    Ok((request, shown))
}

/// What arrived before the call ended (or was dropped).
#[derive(Default)]
struct Received {
    status: Option<reqwest::StatusCode>,
    body: Vec<u8>,
    /// The body's full length when known: read to the end, or announced by `Content-Length`.
    /// `None` while reading, and when reading stopped early without an announced length.
    total: Option<u64>,
    /// For a 3xx: where it pointed, resolved against the URL that answered.
    location: Option<Result<Url, String>>,
}

impl Received {
    fn body_text(&self) -> String {
        if self.body.is_empty() {
            return String::new();
        }
        head_text(&self.body, OUTPUT_LIMIT, self.total)
    }
}

/// Sends the request and reads at most [`OUTPUT_LIMIT`] + 1 bytes of the body into `received`.
async fn call(
    client: &Client,
    request: reqwest::Request,
    received: &mut Received,
) -> reqwest::Result<()> {
    let mut response: Response = client.execute(request).await?;
    received.status = Some(response.status());
    if response.status().is_redirection() {
        received.location = response.headers().get(LOCATION).map(|location| {
            let text = String::from_utf8_lossy(location.as_bytes()).into_owned();
            response.url().join(&text).map_err(|_| text)
        });
    }
    received.total = read_head(&mut response, OUTPUT_LIMIT, &mut received.body).await?;
    Ok(())
}

/// Reads `response`'s body chunk by chunk into `into` until it holds more than `limit` bytes
/// (at most `limit` + 1 are kept, so a caller can tell a cut body), then stops: the rest is
/// never read, and dropping the response closes the connection instead of draining it. Returns
/// the body's full length when known (read to the end, or announced by `Content-Length`). If
/// the future is dropped (a timeout), `into` keeps what arrived.
pub(crate) async fn read_head(
    response: &mut Response,
    limit: usize,
    into: &mut Vec<u8>,
) -> reqwest::Result<Option<u64>> {
    let announced = response.content_length();
    while let Some(chunk) = response.chunk().await? {
        let room = (limit + 1).saturating_sub(into.len());
        into.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if into.len() > limit {
            return Ok(announced);
        }
    }
    Ok(Some(into.len() as u64))
}

/// Why a 3xx answer ended the run: where it pointed, and why it was not followed.
fn redirect_error(code: reqwest::StatusCode, received: &Received, spec: &HttpSpec) -> String {
    let target = match &received.location {
        None => return format!("HTTP {code} without a Location: not followed"),
        Some(Ok(url)) => redact_url(url),
        // Masked like any text that does not parse as a URL: it may still hold a credential.
        Some(Err(text)) => format!("{:?} (not a URL)", crate::redact::url(text)),
    };
    match spec.follow_redirects {
        FollowRedirects::None => format!(
            "HTTP {code}: redirect to {target} not followed (follow_redirects is none; \
             same-origin follows redirects to the same scheme, host and port)"
        ),
        FollowRedirects::SameOrigin => format!(
            "HTTP {code}: redirect to {target} not followed: another origin (follow_redirects \
             same-origin follows the same scheme, host and port only)"
        ),
    }
}

/// A readable account of a failed request that names the URL (never a header value).
fn describe_error(error: &reqwest::Error, url: &str) -> String {
    let io_kind = sources(error)
        .find_map(|source| source.downcast_ref::<std::io::Error>().map(|io| io.kind()));
    if error.is_connect() {
        return match io_kind {
            Some(std::io::ErrorKind::ConnectionRefused) => format!("connection refused: {url}"),
            _ => format!("cannot connect to {url}: {}", innermost(error)),
        };
    }
    if error.is_redirect() {
        return format!("redirect failed for {url}: {}", innermost(error));
    }
    if error.is_body() || error.is_decode() {
        return format!("reading the response from {url} failed: {}", innermost(error));
    }
    format!("request to {url} failed: {}", innermost(error))
}

fn sources<'a>(
    error: &'a reqwest::Error,
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(error.source(), |&source| source.source())
}

/// The deepest cause's message, which is the specific one (`Connection reset by peer`, `dns
/// error: ...`), with any `(os error N)` suffix dropped.
fn innermost(error: &reqwest::Error) -> String {
    let text = sources(error).last().map_or_else(|| error.to_string(), ToString::to_string);
    match text.find(" (os error ") {
        Some(index) => text[..index].to_owned(),
        None => text,
    }
}
