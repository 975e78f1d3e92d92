//! Request signing against a real local receiver (127.0.0.1, an ephemeral port): HTTP handlers
//! of a tenant with a secret carry a `Rota-Signature` that the receiver verifies over the body
//! exactly as it arrived; other tenants' requests carry none; a tampered body or a wrong secret
//! does not verify. The stores hand the secret to the executor with each claimed run.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::any;
use axum::Router;
use chrono::{TimeZone, Utc};
use rota::api::{JobPolicy, JobRef, Rota, TenantPolicy, TenantSettingsUpdate};
use rota::clock::{Clock, ManualClock};
use rota::handler::signature::{verify, SignatureError, SignedRequest, DEFAULT_TOLERANCE};
use rota::handler::{
    Envelope, Executor, HandlerSpec, HttpSpec, ResolvedSpec, RunContext, SigningSecret, Trigger,
};
use rota::job::JobDefinition;
use rota::store::prelude::*;
use rota::tenant::NewTenant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

async fn record(State(received): State<Received>, headers: HeaderMap, body: Bytes) {
    received.lock().unwrap().push((headers, body));
}

/// A receiver on 127.0.0.1 that records every request; stopped when the task is aborted.
async fn receiver() -> (String, Received, tokio::task::JoinHandle<()>) {
    let received = Received::default();
    let app = Router::new().route("/hook", any(record)).with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, received, task)
}

fn envelope() -> Envelope {
    Envelope {
        run_id: Uuid::from_u128(1),
        job_id: Uuid::from_u128(2),
        job: "send-digest".into(),
        tenant_id: Uuid::from_u128(3),
        tenant: "acme".into(),
        scheduled_for: Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 0).unwrap(),
        attempt: 1,
        trigger: Trigger::Schedule,
        payload: serde_json::json!({"list": "weekly", "note": "naïve €"}),
    }
}

#[tokio::test]
async fn requests_of_a_tenant_with_a_secret_are_signed_and_verify() {
    let (url, received, server) = receiver().await;
    let now = Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 3).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now));
    let executor = Executor::new().with_clock(clock);
    let secret = SigningSecret::new("whsec_acme").unwrap();
    let context = RunContext { signing_secret: Some(secret.clone()), ..RunContext::default() };
    let spec = ResolvedSpec::Http(HttpSpec::post(url.clone()));
    let outcome = executor
        .execute_in(&spec, &envelope(), &context, Duration::from_secs(10), CancellationToken::new())
        .await;
    assert!(outcome.is_success(), "{outcome:?}");
    // And one without a secret.
    executor.execute(&spec, &envelope(), Duration::from_secs(10), CancellationToken::new()).await;
    server.abort();

    let requests = received.lock().unwrap();
    let (headers, body) = &requests[0];
    let header = headers.get("rota-signature").expect("signed").to_str().unwrap();
    assert!(header.starts_with(&format!("t={},v1=", now.timestamp())), "{header}");
    assert!(header.contains(",v2="), "{header}");
    let key = headers.get("idempotency-key").unwrap().to_str().unwrap();
    assert_eq!(key, envelope().idempotency_key());
    let signed = SignedRequest { method: "POST", target: "/hook", idempotency_key: key, body };
    verify(&secret, header, &signed, DEFAULT_TOLERANCE, now.timestamp()).unwrap();
    // The receiver's checks fail for a tampered body, another secret, or a stale timestamp.
    let mut tampered = body.to_vec();
    tampered.push(b' ');
    assert_eq!(
        verify(
            &secret,
            header,
            &SignedRequest { body: &tampered, ..signed },
            DEFAULT_TOLERANCE,
            now.timestamp()
        ),
        Err(SignatureError::Mismatch)
    );
    let other = SigningSecret::new("whsec_other").unwrap();
    assert_eq!(
        verify(&other, header, &signed, DEFAULT_TOLERANCE, now.timestamp()),
        Err(SignatureError::Mismatch)
    );
    assert!(matches!(
        verify(&secret, header, &signed, DEFAULT_TOLERANCE, now.timestamp() + 3600),
        Err(SignatureError::OutsideTolerance { .. })
    ));
    let (headers, _) = &requests[1];
    assert!(headers.get("rota-signature").is_none(), "no secret, no signature");
}

/// A GET carries no body, so `v1` covered only `"<t>."`: one captured header verified for any
/// body-less request to any path of the tenant for five minutes. `v2` binds the method, the
/// request target as sent (path and query) and the `Idempotency-Key`.
#[tokio::test]
async fn a_body_less_request_is_bound_to_its_method_path_and_key() {
    type Seen = Arc<Mutex<Vec<(axum::http::Method, String, HeaderMap)>>>;
    let seen = Seen::default();
    let app = Router::new()
        .route(
            "/reports/run",
            any(
                |State(seen): State<Seen>,
                 method: axum::http::Method,
                 uri: axum::http::Uri,
                 headers: HeaderMap| async move {
                    let target = uri.path_and_query().map(ToString::to_string).unwrap_or_default();
                    seen.lock().unwrap().push((method, target, headers));
                },
            ),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let now = Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 3).unwrap();
    let executor = Executor::new().with_clock(Arc::new(ManualClock::new(now)));
    let secret = SigningSecret::new("whsec_acme").unwrap();
    let context = RunContext { signing_secret: Some(secret.clone()), ..RunContext::default() };
    let spec = HttpSpec {
        method: "GET".into(),
        ..HttpSpec::post(format!("{base}/reports/run?tenant=acme&day=2027-03-14"))
    };
    let outcome = executor
        .execute_in(
            &ResolvedSpec::Http(spec),
            &envelope(),
            &context,
            Duration::from_secs(10),
            CancellationToken::new(),
        )
        .await;
    assert!(outcome.is_success(), "{outcome:?}");
    server.abort();

    let seen = seen.lock().unwrap();
    let (method, target, headers) = &seen[0];
    assert_eq!(target, "/reports/run?tenant=acme&day=2027-03-14");
    let header = headers.get("rota-signature").unwrap().to_str().unwrap();
    let key = headers.get("idempotency-key").unwrap().to_str().unwrap();
    let signed = SignedRequest { method: method.as_str(), target, idempotency_key: key, body: b"" };
    verify(&secret, header, &signed, DEFAULT_TOLERANCE, now.timestamp())
        .unwrap_or_else(|error| panic!("{error}: {header}"));
    // The same header replayed to another path, query, method or occurrence does not verify.
    let replays = [
        SignedRequest { target: "/admin/purge", ..signed },
        SignedRequest { target: "/reports/run?tenant=globex&day=2027-03-14", ..signed },
        SignedRequest { method: "DELETE", ..signed },
        SignedRequest { idempotency_key: "00000000-0000-0000-0000-000000000009:x", ..signed },
    ];
    for replay in replays {
        assert_eq!(
            verify(&secret, header, &replay, DEFAULT_TOLERANCE, now.timestamp()),
            Err(SignatureError::Mismatch),
            "{replay:?}"
        );
    }
}

#[tokio::test]
async fn a_spec_cannot_forge_the_signature_header() {
    let spec = HttpSpec::post("https://example.com").with_header("Rota-Signature", "t=1,v1=00");
    let error = HandlerSpec::Http(spec).validate().unwrap_err().to_string();
    assert!(error.contains("\"Rota-Signature\" is set by Rota"), "{error}");
}

// The secret travels from `rota tenant set` to the claim, on both backends, and never shows in
// `Debug` output.
backend_test!(claims_carry_the_tenants_secret_and_command_defaults, |db| {
    let store = db.store().await;
    let now = Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 0).unwrap();
    let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(now));
    let rota = Rota::new(store.clone(), clock);
    rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
    rota.add_tenant(&NewTenant::named("globex"), &TenantPolicy::default()).await.unwrap();
    let update = TenantSettingsUpdate {
        webhook_url: Some(Some("https://acme.example/hook".into())),
        webhook_secret: Some(SigningSecret::new("whsec_acme")),
        command_limits: Some(rota::handler::CommandLimits {
            cpu_seconds: Some(30),
            ..Default::default()
        }),
        run_as: Some(Some("acme".into())),
        ..TenantSettingsUpdate::default()
    };
    let settings = rota.update_tenant_settings("acme", &update).await.unwrap();
    assert_eq!(settings.webhook_secret.as_ref().map(SigningSecret::expose), Some("whsec_acme"));
    assert!(!format!("{settings:?}").contains("whsec_acme"), "{settings:?}");
    // A partial update leaves the rest alone; an empty value clears.
    let cleared = rota
        .update_tenant_settings(
            "acme",
            &TenantSettingsUpdate { run_as: Some(None), ..TenantSettingsUpdate::default() },
        )
        .await
        .unwrap();
    assert_eq!(cleared.run_as, None);
    assert_eq!(cleared.webhook_url.as_deref(), Some("https://acme.example/hook"));
    assert!(cleared.webhook_secret.is_some());
    let error = rota
        .update_tenant_settings(
            "acme",
            &TenantSettingsUpdate {
                notify_email: Some(Some("not-an-address".into())),
                ..TenantSettingsUpdate::default()
            },
        )
        .await
        .unwrap_err();
    assert!(error.to_string().starts_with("notify_email"), "{error}");

    for tenant in ["acme", "globex"] {
        let definition = JobDefinition {
            name: "hook".into(),
            schedule: "0 * * * *".into(),
            timezone: "UTC".into(),
            handler: HandlerSpec::Http(HttpSpec::post("https://example.com/hook")),
            payload: serde_json::json!({}),
            timeout: Duration::from_secs(30),
        };
        rota.add_job(tenant, &definition, &JobPolicy::default()).await.unwrap();
        rota.trigger(JobRef::named(tenant, "hook"), None).await.unwrap();
    }
    let claimed = store.claim("node-1", now, 10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(claimed.len(), 2);
    for run in &claimed {
        let context = &run.context;
        if run.run.tenant == "acme" {
            assert_eq!(context.signing_secret, SigningSecret::new("whsec_acme"));
            assert_eq!(context.limits.cpu_seconds, Some(30));
        } else {
            assert_eq!(context, &RunContext::default());
        }
        assert!(!format!("{run:?}").contains("whsec_acme"));
    }
});
