//! Notifications on both backends, against real receivers on 127.0.0.1: an HTTP server (axum)
//! that records what it is sent and answers as scripted, and an SMTP sink written here (EHLO,
//! AUTH, MAIL, RCPT, DATA, QUIT) that `lettre` talks to over TCP. Both stop by themselves when
//! the test ends (dropped) and after a minute at most. The notification worker and the engine
//! are driven step by step on a `ManualClock`.

mod support;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use chrono::{DateTime, Utc};
use rota::api::{DeliveryFilter, JobRef, Rota, TenantSettingsUpdate};
use rota::clock::{Clock, ManualClock};
use rota::engine::{Engine, EngineConfig};
use rota::handler::signature::{verify, SignedRequest, DEFAULT_TOLERANCE};
use rota::handler::{Envelope, Handler, HandlerRegistry, HandlerSpec, Outcome, SigningSecret};
use rota::job::JobDefinition;
use rota::notify::{
    Channel, DeliveryStatus, Notifier, NotifyConfig, SmtpConfig, SmtpPassword, SmtpTls,
};
use rota::policy::{JobPolicy, RateLimit, TenantPolicy};
use rota::store::AnyStore;
use rota::tenant::NewTenant;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

/// How long a receiver lives at most, whatever the test does.
const RECEIVER_LIFETIME: Duration = Duration::from_secs(60);
const SECRET: &str = "whsec_notify_test";
const SMTP_PASSWORD: &str = "hunter2-smtp-password";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// A handler that always fails with the same error.
struct Failing;

#[async_trait::async_trait]
impl Handler for Failing {
    async fn run(&self, _: &Envelope, _: CancellationToken) -> Outcome {
        Outcome::failed("boom: disk full on /var")
    }
}

// The HTTP receiver.

#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Received {
    /// What the signature covers, as this receiver saw the request.
    fn signed(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: "POST",
            target: "/hooks/rota",
            idempotency_key: self.header("Idempotency-Key"),
            body: &self.body,
        }
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|value| value.to_str().ok()).unwrap_or("")
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct ReceiverState {
    received: Mutex<Vec<Received>>,
    /// Status codes to answer, in order; 200 once they run out.
    script: Mutex<VecDeque<u16>>,
}

/// An HTTP server on 127.0.0.1 that records every request.
struct Receiver {
    url: String,
    state: Arc<ReceiverState>,
    stop: CancellationToken,
}

impl Receiver {
    async fn start(script: &[u16]) -> Receiver {
        let state = Arc::new(ReceiverState::default());
        state.script.lock().unwrap().extend(script);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks/rota", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route(
                "/hooks/rota",
                axum::routing::post(
                    |axum::extract::State(state): axum::extract::State<Arc<ReceiverState>>,
                     headers: HeaderMap,
                     body: axum::body::Bytes| async move {
                        state
                            .received
                            .lock()
                            .unwrap()
                            .push(Received { headers, body: body.to_vec() });
                        let code = state.script.lock().unwrap().pop_front().unwrap_or(200);
                        (StatusCode::from_u16(code).unwrap(), "receiver says so")
                    },
                ),
            )
            .with_state(Arc::clone(&state));
        let stop = CancellationToken::new();
        let deadline = stop.clone();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                tokio::select! {
                    () = deadline.cancelled() => {}
                    () = tokio::time::sleep(RECEIVER_LIFETIME) => {}
                }
            });
            let _ = serve.await;
        });
        Receiver { url, state, stop }
    }

    fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

// The SMTP sink.

#[derive(Debug, Clone, Default)]
struct Mail {
    /// The `AUTH` command line as sent (the credentials, base64-encoded).
    auth: Option<String>,
    from: String,
    to: Vec<String>,
    data: String,
}

/// A minimal SMTP server on 127.0.0.1: enough of RFC 5321 for `lettre` (EHLO with AUTH PLAIN
/// and LOGIN offered, MAIL, RCPT, DATA, RSET, NOOP, QUIT). With `reject_auth`, logins fail
/// with 535.
struct SmtpSink {
    port: u16,
    mails: Arc<Mutex<Vec<Mail>>>,
    stop: CancellationToken,
}

impl SmtpSink {
    async fn start(reject_auth: bool) -> SmtpSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mails = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let (sink_mails, sink_stop) = (Arc::clone(&mails), stop.clone());
        tokio::spawn(async move {
            let lifetime = tokio::time::sleep(RECEIVER_LIFETIME);
            tokio::pin!(lifetime);
            loop {
                let (socket, _) = tokio::select! {
                    () = sink_stop.cancelled() => return,
                    () = &mut lifetime => return,
                    accepted = listener.accept() => match accepted {
                        Ok(accepted) => accepted,
                        Err(_) => return,
                    },
                };
                let mails = Arc::clone(&sink_mails);
                let stop = sink_stop.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        () = stop.cancelled() => {}
                        _ = tokio::time::timeout(RECEIVER_LIFETIME, session(socket, mails, reject_auth)) => {}
                    }
                });
            }
        });
        SmtpSink { port, mails, stop }
    }

    fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn session(
    socket: tokio::net::TcpStream,
    mails: Arc<Mutex<Vec<Mail>>>,
    reject_auth: bool,
) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut mail = Mail::default();
    while let Some(line) = lines.next_line().await? {
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") {
            b"250-sink.test\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("AUTH") {
            mail.auth = Some(line.clone());
            if reject_auth {
                b"535 5.7.8 authentication credentials invalid\r\n"
            } else {
                b"235 2.7.0 authenticated\r\n"
            }
        } else if upper.starts_with("MAIL FROM:") {
            mail.from = line[10..].split_whitespace().next().unwrap_or("").to_owned();
            b"250 2.1.0 ok\r\n"
        } else if upper.starts_with("RCPT TO:") {
            mail.to.push(line[8..].split_whitespace().next().unwrap_or("").to_owned());
            b"250 2.1.5 ok\r\n"
        } else if upper == "DATA" {
            write.write_all(b"354 end data with <CR><LF>.<CR><LF>\r\n").await?;
            let mut data = String::new();
            while let Some(line) = lines.next_line().await? {
                if line == "." {
                    break;
                }
                data.push_str(&line);
                data.push('\n');
            }
            mail.data = data;
            mails.lock().unwrap().push(std::mem::take(&mut mail));
            b"250 2.0.0 queued as 42\r\n"
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else {
            // RSET, NOOP, anything else.
            b"250 2.0.0 ok\r\n"
        };
        write.write_all(reply).await?;
    }
    Ok(())
}

// The world: a store, a clock, the API, an engine that runs failing jobs.

struct World {
    store: AnyStore,
    clock: ManualClock,
    rota: Rota<AnyStore>,
    engine: Engine<AnyStore>,
}

impl World {
    async fn new(db: &support::TestDatabase) -> World {
        let store = db.store().await;
        let clock = ManualClock::new(at("2027-01-01T10:00:00Z"));
        let mut registry = HandlerRegistry::new();
        registry.register("fail", Arc::new(Failing)).unwrap();
        let rota = Rota::new(store.clone(), Arc::new(clock.clone()))
            .with_registry(registry.clone())
            .with_operator("alice");
        let engine = Engine::with_registry(
            store.clone(),
            Arc::new(clock.clone()),
            EngineConfig::new("engine-a"),
            registry,
        );
        engine.register().await.unwrap();
        World { store, clock, rota, engine }
    }

    /// A notification worker with its own connection pool, as another process would have.
    async fn notifier(
        &self,
        db: &support::TestDatabase,
        node: &str,
        smtp: Option<SmtpConfig>,
    ) -> Notifier<AnyStore> {
        let store = AnyStore::connect(&db.url).await.unwrap();
        let mut config = NotifyConfig::new(node);
        config.smtp = smtp;
        config.http_timeout = Duration::from_secs(5);
        Notifier::new(store, Arc::new(self.clock.clone()), config).unwrap()
    }

    async fn tenant(&self, settings: TenantSettingsUpdate) {
        self.rota.add_tenant(&NewTenant::named("acme"), &TenantPolicy::default()).await.unwrap();
        self.rota.update_tenant_settings("acme", &settings).await.unwrap();
    }

    /// A job that fails and is disabled by its first failed occurrence.
    async fn fragile_job(&self) {
        let definition = JobDefinition {
            name: "nightly-report".into(),
            schedule: "0 3 * * *".into(),
            timezone: "UTC".into(),
            handler: HandlerSpec::Named { name: "fail".into() },
            payload: serde_json::json!({}),
            timeout: Duration::from_secs(30),
        };
        let policy = JobPolicy { auto_disable_after: Some(1), ..JobPolicy::default() };
        self.rota.add_job("acme", &definition, &policy).await.unwrap();
    }

    /// Runs the job once: it fails, and Rota disables it (one `job.auto_disabled` event).
    async fn fail_once(&self) {
        self.rota.trigger(JobRef::named("acme", "nightly-report"), None).await.unwrap();
        assert_eq!(self.engine.dispatch_once().await.unwrap(), 1);
        self.engine.wait_idle().await;
        self.engine.record_results_once().await.unwrap();
    }

    async fn deliveries(&self) -> Vec<rota::notify::Delivery> {
        let mut all = self.rota.deliveries(&DeliveryFilter::default()).await.unwrap();
        all.reverse(); // oldest first
        all
    }
}

fn webhook(url: &str) -> TenantSettingsUpdate {
    TenantSettingsUpdate {
        webhook_url: Some(Some(url.to_owned())),
        webhook_secret: Some(SigningSecret::new(SECRET)),
        ..TenantSettingsUpdate::default()
    }
}

fn smtp(sink: &SmtpSink) -> SmtpConfig {
    SmtpConfig {
        port: sink.port,
        username: Some("rota".into()),
        password: Some(SmtpPassword::new(SMTP_PASSWORD)),
        from: "Rota <rota@sched.test>".into(),
        timeout: Duration::from_secs(5),
        ..SmtpConfig::new("127.0.0.1", SmtpTls::None)
    }
}

backend_test!(the_webhook_is_signed_and_verifies, |db| {
    let receiver = Receiver::start(&[]).await;
    let world = World::new(&db).await;
    world.tenant(webhook(&receiver.url)).await;
    world.fragile_job().await;
    world.fail_once().await;
    let event = world.rota.outbox_events(10).await.unwrap().remove(0);
    assert_eq!(event.event.kind().as_str(), "job.auto_disabled");

    let notifier = world.notifier(&db, "notify-a", None).await;
    let report = notifier.deliver_once().await.unwrap();
    assert_eq!((report.claimed, report.delivered), (1, 1));
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    let secret = SigningSecret::new(SECRET).unwrap();
    let header = request.header("Rota-Signature");
    let now = world.clock.now().timestamp();
    assert!(header.contains(",v2="), "{header}");
    verify(&secret, header, &request.signed(), DEFAULT_TOLERANCE, now)
        .unwrap_or_else(|error| panic!("{error}: {header}"));
    // Any change to the body, the path or the key breaks it.
    let mut tampered = request.body.clone();
    tampered.push(b' ');
    let changed = [
        SignedRequest { body: &tampered, ..request.signed() },
        SignedRequest { target: "/hooks/other", ..request.signed() },
        SignedRequest { idempotency_key: "another-event", ..request.signed() },
    ];
    for request in changed {
        assert!(verify(&secret, header, &request, DEFAULT_TOLERANCE, now).is_err(), "{request:?}");
    }
    // The key is the event id, as in `Rota-Event-Id`.
    assert_eq!(request.header("Idempotency-Key"), request.header("Rota-Event-Id"));

    let body = request.json();
    assert_eq!(body["id"], event.id.to_string());
    assert_eq!(request.header("Rota-Event-Id"), event.id.to_string());
    assert_eq!(body["type"], "job.auto_disabled");
    assert_eq!(body["tenant"]["name"], "acme");
    assert_eq!(body["job"]["name"], "nightly-report");
    assert_eq!(body["occurred_at"], "2027-01-01T10:00:00Z");
    assert_eq!(body["data"]["last_error"], "boom: disk full on /var");
    assert_eq!(request.header("Content-Type"), "application/json");

    let log = world.deliveries().await;
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].channel, log[0].status, log[0].http_status),
        (Channel::Webhook, DeliveryStatus::Delivered, Some(200))
    );
    assert_eq!(
        (log[0].event_id, log[0].attempt, log[0].tenant.as_deref()),
        (event.id, 1, Some("acme"))
    );
    let event = world.rota.outbox_events(10).await.unwrap().remove(0);
    assert!(event.delivered_at.is_some());
    // Nothing is left to deliver.
    assert_eq!(notifier.deliver_once().await.unwrap().claimed, 0);
});

backend_test!(a_receiver_error_is_retried_after_the_backoff_with_the_same_event_id, |db| {
    let receiver = Receiver::start(&[500]).await;
    let world = World::new(&db).await;
    world.tenant(webhook(&receiver.url)).await;
    world.fragile_job().await;
    world.fail_once().await;
    let notifier = world.notifier(&db, "notify-a", None).await;

    let first = notifier.deliver_once().await.unwrap();
    assert_eq!((first.claimed, first.retrying), (1, 1));
    let log = world.deliveries().await;
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].status, log[0].http_status), (DeliveryStatus::Retrying, Some(500)));
    assert!(log[0].error.as_deref().unwrap().starts_with("HTTP 500"), "{:?}", log[0].error);
    // The first retry waits the backoff's first step: 10 s.
    assert_eq!(log[0].next_attempt_at, Some(at("2027-01-01T10:00:10Z")));

    world.clock.advance(chrono::Duration::seconds(9));
    assert_eq!(notifier.deliver_once().await.unwrap().claimed, 0, "not before the backoff");
    world.clock.advance(chrono::Duration::seconds(1));
    let second = notifier.deliver_once().await.unwrap();
    assert_eq!((second.claimed, second.delivered), (1, 1));

    let received = receiver.received();
    assert_eq!(received.len(), 2);
    let ids: Vec<String> =
        received.iter().map(|r| r.json()["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids[0], ids[1], "the event id is stable across retries");
    assert_eq!(received[0].body, received[1].body, "so is the body");
    let attempts: Vec<&str> = received.iter().map(|r| r.header("Rota-Delivery-Attempt")).collect();
    assert_eq!(attempts, ["1", "2"]);
    // Each attempt is signed at its own instant, and verifies then.
    let secret = SigningSecret::new(SECRET).unwrap();
    verify(
        &secret,
        received[1].header("Rota-Signature"),
        &received[1].signed(),
        DEFAULT_TOLERANCE,
        world.clock.now().timestamp(),
    )
    .unwrap();

    let log = world.deliveries().await;
    let statuses: Vec<(u32, DeliveryStatus)> = log.iter().map(|d| (d.attempt, d.status)).collect();
    assert_eq!(statuses, [(1, DeliveryStatus::Retrying), (2, DeliveryStatus::Delivered)]);
    assert!(log.iter().all(|d| d.event_id.to_string() == ids[0]));
});

backend_test!(one_auto_disable_gives_one_notification_with_two_workers_racing, |db| {
    let receiver = Receiver::start(&[]).await;
    let world = World::new(&db).await;
    world.tenant(webhook(&receiver.url)).await;
    world.fragile_job().await;
    world.fail_once().await;
    assert_eq!(world.rota.outbox_events(10).await.unwrap().len(), 1);

    let workers =
        [world.notifier(&db, "notify-a", None).await, world.notifier(&db, "notify-b", None).await];
    let mut claimed = 0;
    for _ in 0..3 {
        let reports = futures::future::join_all(workers.iter().map(|w| w.deliver_once())).await;
        claimed += reports.into_iter().map(|report| report.unwrap().claimed).sum::<usize>();
    }
    assert_eq!(claimed, 1, "exactly one worker claimed the event");
    assert_eq!(receiver.received().len(), 1, "the receiver heard about it once");
    assert_eq!(world.deliveries().await.len(), 1);
});

backend_test!(an_email_names_the_job_and_the_last_error, |db| {
    let sink = SmtpSink::start(false).await;
    let receiver = Receiver::start(&[]).await;
    let world = World::new(&db).await;
    let mut settings = webhook(&receiver.url);
    settings.notify_email = Some(Some("ops@acme.test".into()));
    world.tenant(settings).await;
    world.fragile_job().await;
    world.fail_once().await;

    // A node without an SMTP server delivers the webhook and fails the email, saying why.
    let plain = world.notifier(&db, "notify-a", None).await;
    assert_eq!(plain.deliver_once().await.unwrap().retrying, 1);
    let log = world.deliveries().await;
    let email = log.iter().find(|d| d.channel == Channel::Email).unwrap();
    assert_eq!(email.status, DeliveryStatus::Retrying);
    assert!(email.error.as_deref().unwrap().contains("no SMTP server"), "{:?}", email.error);

    // A node with one sends it after the backoff; the webhook is not sent again.
    world.clock.advance(chrono::Duration::seconds(10));
    let mailing = world.notifier(&db, "notify-b", Some(smtp(&sink))).await;
    assert_eq!(mailing.deliver_once().await.unwrap().delivered, 1);
    assert_eq!(receiver.received().len(), 1);

    let mails = sink.mails();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert_eq!(mail.to, ["<ops@acme.test>"]);
    assert_eq!(mail.from, "<rota@sched.test>");
    let subject = mail.data.lines().find(|line| line.starts_with("Subject:")).unwrap();
    assert!(subject.contains("acme/nightly-report"), "{subject}");
    assert!(subject.contains("disabled"), "{subject}");
    assert!(mail.data.contains("boom: disk full on /var"), "{}", mail.data);
    let event = world.rota.outbox_events(10).await.unwrap().remove(0);
    assert!(mail.data.contains(&event.id.to_string()), "the event id is in the email");
    // The password went to the server (AUTH PLAIN, base64), and only there.
    assert!(mail.auth.as_deref().unwrap().starts_with("AUTH PLAIN"), "{:?}", mail.auth);

    let log = world.deliveries().await;
    let sent = log
        .iter()
        .find(|d| d.channel == Channel::Email && d.status == DeliveryStatus::Delivered)
        .unwrap();
    assert_eq!((sent.attempt, sent.target.as_str()), (2, "ops@acme.test"));
    assert!(sent.smtp_reply.as_deref().unwrap().starts_with("250"), "{:?}", sent.smtp_reply);
});

// lettre's async transport bounds only the connection: a server that greets and then never
// answers held the delivery (and the notification worker's loop) forever. The conversation is
// now cut after the configured timeout, and the attempt is logged and retried.
backend_test!(an_smtp_server_that_stops_answering_does_not_hold_the_worker, |db| {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            // A greeting, then silence: EHLO is read and never answered.
            let _ = stream.write_all(b"220 stall.test ESMTP\r\n").await;
            held.push(stream);
        }
    });
    let world = World::new(&db).await;
    let settings = TenantSettingsUpdate {
        notify_email: Some(Some("ops@acme.test".into())),
        ..TenantSettingsUpdate::default()
    };
    world.tenant(settings).await;
    world.fragile_job().await;
    world.fail_once().await;
    let config = SmtpConfig {
        port,
        from: "Rota <rota@sched.test>".into(),
        timeout: Duration::from_secs(1),
        ..SmtpConfig::new("127.0.0.1", SmtpTls::None)
    };
    let notifier = world.notifier(&db, "notify-a", Some(config)).await;
    let report = tokio::time::timeout(Duration::from_secs(20), notifier.deliver_once())
        .await
        .expect("the delivery ends within its timeout")
        .unwrap();
    assert_eq!(report.retrying, 1);
    let log = world.deliveries().await;
    let error = log[0].error.as_deref().unwrap();
    assert_eq!(error, format!("SMTP 127.0.0.1:{port}: no complete answer within 1 s"));
    server.abort();
});

/// Captures every log line of the current thread at every level.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

backend_test!(the_smtp_password_never_appears_in_logs_or_debug_output, |db| {
    let sink = SmtpSink::start(true).await;
    let world = World::new(&db).await;
    world
        .tenant(TenantSettingsUpdate {
            notify_email: Some(Some("ops@acme.test".into())),
            ..TenantSettingsUpdate::default()
        })
        .await;
    world.fragile_job().await;
    world.fail_once().await;

    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let notifier = world.notifier(&db, "notify-a", Some(smtp(&sink))).await;
    {
        let _guard = tracing::subscriber::set_default(subscriber);
        tracing::info!(config = ?notifier.config(), "notifier configured");
        // The server rejects the login: the attempt fails and is logged.
        assert_eq!(notifier.deliver_once().await.unwrap().retrying, 1);
    }
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("notification not delivered"), "{logs}");
    assert!(logs.contains("<redacted>"), "{logs}");
    assert!(!logs.contains(SMTP_PASSWORD), "{logs}");
    assert!(!format!("{:?}", notifier.config()).contains(SMTP_PASSWORD));
    let log = world.deliveries().await;
    let error = log[0].error.as_deref().unwrap();
    assert!(error.contains("535"), "{error}");
    assert!(!error.contains(SMTP_PASSWORD), "{error}");
    // The login was attempted for real.
    assert!(sink.mails().is_empty());
});

backend_test!(run_failed_and_throttled_events_are_opt_in, |db| {
    let world = World::new(&db).await;
    world.tenant(TenantSettingsUpdate::default()).await;
    let definition = |name: &str| JobDefinition {
        name: name.into(),
        schedule: "0 3 * * *".into(),
        timezone: "UTC".into(),
        handler: HandlerSpec::Named { name: "fail".into() },
        payload: serde_json::json!({}),
        timeout: Duration::from_secs(30),
    };
    let never = JobPolicy { auto_disable_after: Some(0), ..JobPolicy::default() };
    world.rota.add_job("acme", &definition("flaky"), &never).await.unwrap();
    let kinds = |events: Vec<rota::event::OutboxEvent>| -> Vec<String> {
        events.into_iter().map(|event| event.event.kind().to_string()).collect()
    };

    // Not opted in: a failure and a throttled burst say nothing.
    let limit = RateLimit { count: 2, window: Duration::from_secs(60) };
    world
        .rota
        .set_tenant_policy(
            "acme",
            &TenantPolicy { rate_limit: Some(limit), ..TenantPolicy::default() },
        )
        .await
        .unwrap();
    for _ in 0..3 {
        world.rota.trigger(JobRef::named("acme", "flaky"), None).await.unwrap();
    }
    assert_eq!(world.engine.dispatch_once().await.unwrap(), 2);
    world.engine.wait_idle().await;
    world.engine.record_results_once().await.unwrap();
    assert!(kinds(world.rota.outbox_events(100).await.unwrap()).is_empty());

    // Opted in: each failed occurrence, and the rate limit holding a run back once per window.
    world
        .rota
        .update_tenant_settings(
            "acme",
            &TenantSettingsUpdate {
                notify_run_failed: Some(true),
                notify_throttled: Some(true),
                ..TenantSettingsUpdate::default()
            },
        )
        .await
        .unwrap();
    world.clock.advance(chrono::Duration::seconds(61));
    for _ in 0..3 {
        world.rota.trigger(JobRef::named("acme", "flaky"), None).await.unwrap();
    }
    // 4 ready, room for 2: two start and the rate limit holds the rest back.
    assert_eq!(world.engine.dispatch_once().await.unwrap(), 2);
    world.engine.wait_idle().await;
    world.engine.record_results_once().await.unwrap();
    let events = world.rota.outbox_events(100).await.unwrap();
    let mut sorted = kinds(events.clone());
    sorted.sort();
    assert_eq!(sorted, ["run.failed", "run.failed", "tenant.throttled"]);
    let throttled =
        events.iter().find(|event| event.event.kind().as_str() == "tenant.throttled").unwrap();
    assert_eq!(
        (throttled.job_id, &throttled.event.data()["rate_limit"]["count"]),
        (None, &serde_json::json!(2))
    );
    let failed = events.iter().find(|event| event.event.kind().as_str() == "run.failed").unwrap();
    assert_eq!(failed.event.data()["job"], "flaky");
    assert_eq!(failed.event.data()["error"], "boom: disk full on /var");

    // Within the window, no second `tenant.throttled`; after it, with runs still held back, one.
    world.clock.advance(chrono::Duration::seconds(30));
    assert_eq!(world.engine.dispatch_once().await.unwrap(), 0, "no room left");
    world.clock.advance(chrono::Duration::seconds(31));
    for _ in 0..2 {
        world.rota.trigger(JobRef::named("acme", "flaky"), None).await.unwrap();
    }
    assert_eq!(world.engine.dispatch_once().await.unwrap(), 2);
    world.engine.wait_idle().await;
    world.engine.record_results_once().await.unwrap();
    let throttled = kinds(world.rota.outbox_events(100).await.unwrap())
        .into_iter()
        .filter(|kind| kind == "tenant.throttled")
        .count();
    assert_eq!(throttled, 2);
    let _ = &world.store;
});

backend_test!(prune_keeps_what_is_still_being_delivered, |db| {
    let receiver = Receiver::start(&[500]).await;
    let world = World::new(&db).await;
    world.tenant(webhook(&receiver.url)).await;
    world.fragile_job().await;
    world.fail_once().await;
    let notifier = world.notifier(&db, "notify-a", None).await;
    assert_eq!(notifier.deliver_once().await.unwrap().retrying, 1);

    // Two days later the event still waits for its next attempt: its log is the explanation.
    world.clock.advance(chrono::Duration::days(2));
    assert_eq!(world.rota.prune_notifications(1).await.unwrap(), (0, 0));
    assert_eq!(notifier.deliver_once().await.unwrap().delivered, 1);
    assert_eq!(world.rota.prune_notifications(1).await.unwrap(), (0, 1), "the old attempt goes");
    assert_eq!(world.deliveries().await.len(), 1);

    world.clock.advance(chrono::Duration::days(2));
    assert_eq!(world.rota.prune_notifications(3).await.unwrap(), (0, 0), "younger than 3 days");
    assert_eq!(world.rota.prune_notifications(1).await.unwrap(), (1, 1));
    assert!(world.rota.outbox_events(10).await.unwrap().is_empty());
    assert!(world.deliveries().await.is_empty());

    let error = world.rota.prune_notifications(0).await.unwrap_err().to_string();
    assert!(error.starts_with("older_than_days: \"0\""), "{error}");
});
