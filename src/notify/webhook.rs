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
use crate::handler::signature::{sign, SIGNATURE_HEADER};

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

/// Posts `claimed` to `url`, signed with the tenant's secret at `now` when it has one.
pub async fn post(
    client: &reqwest::Client,
    url: &str,
    claimed: &ClaimedEvent,
    now: DateTime<Utc>,
    timeout: Duration,
) -> WebhookResult {
    let body = body(claimed);
    let mut request = client
        .post(url)
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::USER_AGENT, concat!("rota/", env!("CARGO_PKG_VERSION")))
        .header(EVENT_ID_HEADER, claimed.event.id.to_string())
        .header(EVENT_TYPE_HEADER, claimed.event.event.kind().as_str())
        .header(ATTEMPT_HEADER, claimed.attempt.to_string());
    if let Some(secret) = &claimed.webhook_secret {
        request = request.header(SIGNATURE_HEADER, sign(secret, now.timestamp(), &body));
    }
    match request.body(body).send().await {
        Ok(response) => {
            let status = response.status();
            if status.is_success() {
                return WebhookResult { http_status: Some(status.as_u16()), error: None };
            }
            let text = response.text().await.unwrap_or_default();
            let quoted = crate::handler::outcome::head_text(
                text.as_bytes(),
                QUOTED_BODY,
                Some(text.len() as u64),
            );
            let error = if quoted.trim().is_empty() {
                format!("HTTP {status}")
            } else {
                format!("HTTP {status}: {}", quoted.trim())
            };
            WebhookResult { http_status: Some(status.as_u16()), error: Some(error) }
        }
        // Without the URL: it may carry a token in its query.
        Err(error) => {
            WebhookResult { http_status: None, error: Some(error.without_url().to_string()) }
        }
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
