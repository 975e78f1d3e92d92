//! The webhook channel: the event as a JSON `POST` to the tenant's `webhook_url`, signed with
//! the tenant's secret in the `Rota-Signature` header ([`crate::handler::signature`]).
//!
//! The body is the same on every attempt (the event id, type, tenant, job, instant and data);
//! the signature's timestamp is the attempt's. A receiver verifies the signature, then
//! deduplicates on `id` (also sent as `Rota-Event-Id`): delivery is at least once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::ClaimedEvent;
use crate::handler::egress::EgressPolicy;
use crate::handler::http::read_head;
use crate::handler::outcome::head_text;
use crate::handler::signature::{sign, SignedRequest, SIGNATURE_HEADER};

/// The event's id again, under the name HTTP handlers use: the signature's `v2` covers it.
pub const IDEMPOTENCY_KEY_HEADER: &str = "Idempotency-Key";
/// The event's id, for receivers that deduplicate before parsing the body.
pub const EVENT_ID_HEADER: &str = "Rota-Event-Id";
pub const EVENT_TYPE_HEADER: &str = "Rota-Event-Type";
/// 1 for the first attempt.
pub const ATTEMPT_HEADER: &str = "Rota-Delivery-Attempt";
/// Response bodies quoted in the delivery log are cut to this many bytes.
const QUOTED_BODY: usize = 300;

/// The JSON document a webhook carries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookBody<'a> {
    /// The outbox event's id: the same on every attempt.
    pub id: Uuid,
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub tenant: Named<'a>,
    /// `null` for tenant events (`tenant.throttled`).
    pub job: Option<Named<'a>>,
    pub occurred_at: DateTime<Utc>,
    pub data: &'a serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Named<'a> {
    pub id: Uuid,
    pub name: &'a str,
}

/// The body's bytes for `claimed` (stable across attempts).
pub fn body(claimed: &ClaimedEvent) -> Vec<u8> {
    let event = &claimed.event;
    let job_name = claimed.job.as_deref().or(event.event.job_name()).unwrap_or("");
    let data = event.event.data();
    let document = WebhookBody {
        id: event.id,
        kind: event.event.kind().as_str(),
        tenant: Named { id: event.tenant_id, name: &claimed.tenant },
        job: event.job_id.map(|id| Named { id, name: job_name }),
        occurred_at: event.occurred_at,
        data: &data,
    };
    serde_json::to_vec(&document).expect("a JSON value serializes")
}

/// How one webhook attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResult {
    pub http_status: Option<u16>,
    /// `None` when the receiver answered 2xx.
    pub error: Option<String>,
}

/// Posts `claimed` to `url`, signed with the tenant's secret at `now` when it has one. The
/// client must follow no redirect (the notifier's, built by `EgressPolicy::client`):
/// the signature is for the URL the tenant set. Of an error answer's body, at most
/// [`QUOTED_BODY`] bytes are read; the rest is left unread and the connection closed.
pub async fn post(
    client: &reqwest::Client,
    egress: &EgressPolicy,
    url: &str,
    claimed: &ClaimedEvent,
    now: DateTime<Utc>,
    timeout: Duration,
) -> WebhookResult {
    let failed = |error: String| WebhookResult { http_status: None, error: Some(error) };
    let parsed = match reqwest::Url::parse(url) {
        Ok(parsed) => parsed,
        Err(error) => return failed(format!("webhook_url is not a URL: {error}")),
    };
    // Names are checked by the client's resolver; a literal address never reaches one.
    if let Err(refused) = egress.check_url(&parsed) {
        return failed(format!("cannot connect: {refused}"));
    }
    let body = body(claimed);
    let event_id = claimed.event.id.to_string();
    let mut request = client
        .post(parsed.clone())
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::USER_AGENT, concat!("rota/", env!("CARGO_PKG_VERSION")))
        .header(IDEMPOTENCY_KEY_HEADER, &event_id)
        .header(EVENT_ID_HEADER, &event_id)
        .header(EVENT_TYPE_HEADER, claimed.event.event.kind().as_str())
        .header(ATTEMPT_HEADER, claimed.attempt.to_string());
    if let Some(secret) = &claimed.webhook_secret {
        let target = SignedRequest::target_of(&parsed);
        let signed = SignedRequest {
            method: "POST",
            target: &target,
            idempotency_key: &event_id,
            body: &body,
        };
        request = request.header(SIGNATURE_HEADER, sign(secret, now.timestamp(), &signed));
    }
    let mut response = match request.body(body).send().await {
        Ok(response) => response,
        Err(error) => return failed(describe_error(error)),
    };
    let status = response.status();
    if status.is_success() {
        return WebhookResult { http_status: Some(status.as_u16()), error: None };
    }
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .filter(|_| status.is_redirection())
        .map(|location| String::from_utf8_lossy(location.as_bytes()).into_owned());
    let mut head = Vec::new();
    // A body that breaks off is quoted as far as it came.
    let total = read_head(&mut response, QUOTED_BODY, &mut head).await.unwrap_or(None);
    drop(response);
    let quoted = head_text(&head, QUOTED_BODY, total);
    let mut error = format!("HTTP {status}");
    if let Some(location) = location {
        let shown = match parsed.join(&location) {
            Ok(resolved) => target(resolved.as_str()),
            Err(_) => format!("{location:?}"),
        };
        error += &format!(" (redirect to {shown} not followed)");
    }
    if !quoted.trim().is_empty() {
        error += &format!(": {}", quoted.trim());
    }
    WebhookResult { http_status: Some(status.as_u16()), error: Some(error) }
}

/// A failed request in words, without the URL (it may carry a token in its query), with the
/// innermost cause (`Connection refused`, a refused private address).
fn describe_error(error: reqwest::Error) -> String {
    use std::error::Error as _;
    let cause = std::iter::successors(error.source(), |&source| source.source())
        .last()
        .map(ToString::to_string);
    let top = error.without_url().to_string();
    match cause {
        Some(cause) => format!("{top}: {cause}"),
        None => top,
    }
}

/// The URL as the delivery log shows it (never with a password).
pub fn target(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(parsed) => crate::handler::spec::redact_url(&parsed),
        Err(_) => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::OutboxEvent;

    #[test]
    fn the_body_names_the_event_tenant_and_job() {
        let at = DateTime::from_timestamp(1_767_225_600, 0).unwrap();
        let claimed = ClaimedEvent {
            event: OutboxEvent {
                id: Uuid::from_u128(1),
                event: crate::event::Event::JobAutoDisabled(crate::event::JobAutoDisabled {
                    job: "nightly".into(),
                    reason: "auto".into(),
                    consecutive_failures: 3,
                    probation: false,
                    last_error: Some("boom".into()),
                    run_id: Uuid::from_u128(4),
                }),
                tenant_id: Uuid::from_u128(2),
                job_id: Some(Uuid::from_u128(3)),
                occurred_at: at,
                created_at: at,
                delivered_at: None,
            },
            attempt: 2,
            tenant: "acme".into(),
            job: None,
            webhook_url: None,
            webhook_secret: None,
            notify_email: None,
            delivered: Vec::new(),
        };
        let value: serde_json::Value = serde_json::from_slice(&body(&claimed)).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "id": Uuid::from_u128(1),
                "type": "job.auto_disabled",
                "tenant": {"id": Uuid::from_u128(2), "name": "acme"},
                "job": {"id": Uuid::from_u128(3), "name": "nightly"},
                "occurred_at": "2026-01-01T00:00:00Z",
                "data": {
                    "job": "nightly",
                    "reason": "auto",
                    "consecutive_failures": 3,
                    "probation": false,
                    "last_error": "boom",
                    "run_id": Uuid::from_u128(4),
                },
            })
        );
        assert_eq!(target("https://u:pw@example.com/x"), "https://u:***@example.com/x");
    }
}
