//! HTTP handlers against a real local server (127.0.0.1, an ephemeral port, stopped when the
//! test ends): the request Rota sends, statuses, bounded bodies, timeouts and connection errors.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::{any, get};
use axum::Router;
use chrono::{TimeZone, Utc};
use rota::handler::{
    Envelope, Executor, HttpSpec, Outcome, OutcomeStatus, ResolvedSpec, Trigger, OUTPUT_LIMIT,
};
use tokio::sync::{mpsc, Notify};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const LONG: Duration = Duration::from_secs(60);
const BIG_BODY: usize = 100_000;

fn envelope() -> Envelope {
    Envelope {
        run_id: Uuid::from_u128(0x11),
        job_id: Uuid::from_u128(0x22),
        job: "send-digest".into(),
        tenant_id: Uuid::from_u128(0x33),
        tenant: "acme".into(),
        scheduled_for: Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 0).unwrap(),
        attempt: 2,
        trigger: Trigger::Retry,
        payload: serde_json::json!({"list": "weekly"}),
    }
}

struct Request {
    method: Method,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone, Default)]
struct Shared {
    requests: Arc<Mutex<Vec<Request>>>,
    /// Told when a request reaches `/slow`.
    slow_arrived: Arc<Notify>,
    /// Sent to when the `/slow` handler is dropped, which hyper does when the client hangs up.
    slow_dropped: Option<mpsc::UnboundedSender<()>>,
}

/// A server on 127.0.0.1:0 that records requests; it stops when dropped.
struct TestServer {
    base: String,
    shared: Shared,
    slow_dropped: mpsc::UnboundedReceiver<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Sends on the channel when dropped.
struct DropSignal(mpsc::UnboundedSender<()>);

impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

async fn record(State(shared): State<Shared>, method: Method, headers: HeaderMap, body: Bytes) {
    shared.requests.lock().unwrap().push(Request { method, headers, body });
}

impl TestServer {
    async fn start() -> Self {
        let (dropped_tx, slow_dropped) = mpsc::unbounded_channel();
        let shared = Shared { slow_dropped: Some(dropped_tx), ..Shared::default() };
        let app = Router::new()
            .route(
                "/ok",
                any(|state, method, headers, body| async move {
                    record(state, method, headers, body).await;
                    "accepted"
                }),
            )
            .route(
                "/fail",
                any(|state, method, headers, body| async move {
                    record(state, method, headers, body).await;
                    (StatusCode::SERVICE_UNAVAILABLE, "database down")
                }),
            )
            .route("/big", get(|| async { "é".repeat(BIG_BODY / 2) }))
            .route(
                "/slow",
                any(|State(shared): State<Shared>| async move {
                    let _signal = DropSignal(shared.slow_dropped.clone().unwrap());
                    shared.slow_arrived.notify_one();
                    std::future::pending::<()>().await;
                }),
            )
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        TestServer { base, shared, slow_dropped, task }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn requests(&self) -> std::sync::MutexGuard<'_, Vec<Request>> {
        self.shared.requests.lock().unwrap()
    }
}

async fn call(spec: HttpSpec, timeout: Duration) -> Outcome {
    call_with(spec, timeout, CancellationToken::new()).await
}

async fn call_with(spec: HttpSpec, timeout: Duration, cancel: CancellationToken) -> Outcome {
    Executor::new().execute(&ResolvedSpec::Http(spec), &envelope(), timeout, cancel).await
}

#[tokio::test]
async fn posts_the_envelope_with_its_headers_and_records_the_response() {
    let server = TestServer::start().await;
    let spec = HttpSpec::post(server.url("/ok"))
        .with_header("Authorization", "Bearer t0ken")
        .with_header("X-Team", "billing");
    let outcome = call(spec, LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Succeeded, "{outcome:?}");
    assert_eq!(outcome.http_status, Some(200));
    assert_eq!(outcome.output, "accepted");
    assert_eq!(outcome.error, None);

    let requests = server.requests();
    let [request] = requests.as_slice() else { panic!("expected one request") };
    assert_eq!(request.method, Method::POST);
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({
            "run_id": "00000000-0000-0000-0000-000000000011",
            "job_id": "00000000-0000-0000-0000-000000000022",
            "job": "send-digest",
            "tenant_id": "00000000-0000-0000-0000-000000000033",
            "tenant": "acme",
            "scheduled_for": "2027-03-14T07:00:00Z",
            "attempt": 2,
            "trigger": "retry",
            "payload": {"list": "weekly"},
        })
    );
    let header = |name: &str| request.headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(
        header("idempotency-key").as_deref(),
        Some("00000000-0000-0000-0000-000000000022:2027-03-14T07:00:00Z")
    );
    assert_eq!(header("idempotency-key").unwrap(), envelope().idempotency_key());
    assert_eq!(header("content-type").as_deref(), Some("application/json"));
    assert_eq!(header("user-agent"), Some(format!("rota/{}", env!("CARGO_PKG_VERSION"))));
    assert_eq!(header("authorization").as_deref(), Some("Bearer t0ken"));
    assert_eq!(header("x-team").as_deref(), Some("billing"));
}

#[tokio::test]
async fn get_sends_no_body_and_a_spec_may_replace_the_user_agent() {
    let server = TestServer::start().await;
    let spec = HttpSpec { method: "get".into(), ..HttpSpec::post(server.url("/ok")) }
        .with_header("User-Agent", "custom/1");
    let outcome = call(spec, LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Succeeded, "{outcome:?}");
    let requests = server.requests();
    assert_eq!(requests[0].method, Method::GET);
    assert!(requests[0].body.is_empty());
    assert_eq!(requests[0].headers["user-agent"], "custom/1");
    assert!(requests[0].headers.contains_key("idempotency-key"));
}

#[tokio::test]
async fn an_error_status_is_a_failure_with_the_body_kept() {
    let server = TestServer::start().await;
    let outcome = call(HttpSpec::post(server.url("/fail")), LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Failed);
    assert_eq!(outcome.http_status, Some(503));
    assert_eq!(outcome.error.as_deref(), Some("HTTP 503 Service Unavailable"));
    assert_eq!(outcome.output, "database down");
}

#[tokio::test]
async fn a_large_body_keeps_only_its_head() {
    let server = TestServer::start().await;
    let spec = HttpSpec { method: "GET".into(), ..HttpSpec::post(server.url("/big")) };
    let outcome = call(spec, LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Succeeded, "{outcome:?}");
    assert!(outcome.output.len() <= OUTPUT_LIMIT, "{} bytes", outcome.output.len());
    let (shown, marker) = outcome.output.split_at(outcome.output.find('…').unwrap());
    assert!(shown.chars().all(|c| c == 'é') && shown.len() > OUTPUT_LIMIT / 2, "{shown:?}");
    assert_eq!(marker, format!("…[{} bytes truncated]", BIG_BODY - shown.len()));
}

/// The slow endpoint never answers: the call must end at the timeout, and the server must see
/// the connection go (hyper drops the handler when the client hangs up).
#[tokio::test]
async fn a_slow_endpoint_times_out_and_the_connection_is_dropped() {
    let mut server = TestServer::start().await;
    let timeout = Duration::from_millis(500);
    let started = Instant::now();
    let outcome = call(HttpSpec::post(server.url("/slow")), timeout).await;
    let elapsed = started.elapsed();
    assert_eq!(outcome.status, OutcomeStatus::TimedOut, "{outcome:?}");
    assert_eq!(outcome.http_status, None);
    assert_eq!(
        outcome.error.as_deref(),
        Some(format!("timed out after 500ms waiting for {}", server.url("/slow")).as_str())
    );
    assert!(elapsed >= timeout && elapsed < timeout + Duration::from_secs(2), "{elapsed:?}");
    let dropped = tokio::time::timeout(Duration::from_secs(10), server.slow_dropped.recv()).await;
    assert!(matches!(dropped, Ok(Some(()))), "the server never saw the connection close");
}

#[tokio::test]
async fn cancellation_abandons_the_request() {
    let mut server = TestServer::start().await;
    let cancel = CancellationToken::new();
    let arrived = Arc::clone(&server.shared.slow_arrived);
    let run = call_with(HttpSpec::post(server.url("/slow")), LONG, cancel.clone());
    let canceller = async {
        arrived.notified().await;
        cancel.cancel();
    };
    let (outcome, ()) = tokio::join!(run, canceller);
    assert_eq!(outcome.status, OutcomeStatus::Cancelled, "{outcome:?}");
    assert!(outcome.error.as_deref().unwrap().starts_with("cancelled waiting for http://"));
    let dropped = tokio::time::timeout(Duration::from_secs(10), server.slow_dropped.recv()).await;
    assert!(matches!(dropped, Ok(Some(()))), "the server never saw the connection close");
}

#[tokio::test]
async fn connection_refused_names_the_url() {
    // Bind to learn a free port, then close it so that nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/hook?x=1");
    let outcome =
        call(HttpSpec::post(&url).with_header("Authorization", "Bearer s3cret"), LONG).await;
    assert_eq!(outcome.status, OutcomeStatus::Failed);
    assert_eq!(outcome.http_status, None);
    assert_eq!(outcome.error, Some(format!("connection refused: {url}")));
}

#[tokio::test]
async fn credentials_in_the_url_are_hidden_in_errors() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let outcome = call(HttpSpec::post(format!("http://bot:hunter2@127.0.0.1:{port}/")), LONG).await;
    assert_eq!(
        outcome.error,
        Some(format!("connection refused: http://bot:***@127.0.0.1:{port}/"))
    );
}
