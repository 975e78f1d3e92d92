//! Where Rota's requests go, and what comes back into it, against real servers on 127.0.0.1:
//!
//! - redirects: not followed by default (the run fails naming the `Location`); with
//!   `follow_redirects: same-origin`, followed within the origin only, so the custom headers,
//!   the signature and the body never reach another origin (another port of 127.0.0.1 is
//!   another origin);
//! - `rota serve --deny-private-networks`: HTTP handler and webhook targets on loopback are
//!   refused, by literal address and by name (after DNS resolution), and nothing reaches them;
//! - bounded replies: a receiver answering with hundreds of megabytes (generated as it is sent,
//!   never held) to an HTTP handler and to a webhook leaves `rota serve`'s peak resident memory
//!   small, and reading stops early (the connection is closed, not drained).

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::any;
use axum::Router;
use chrono::{TimeZone, Utc};
use rota::api::{DeliveryFilter, Rota};
use rota::clock::{ManualClock, SystemClock};
use rota::event::Delivery;
use rota::handler::{
    EgressPolicy, Envelope, Executor, FollowRedirects, HttpSpec, Outcome, OutcomeStatus,
    ResolvedSpec, RunContext, SigningSecret, Trigger,
};
use rota::run::{Run, RunStatus};
use rota::store::RunFilter;
use support::serve_node::ServeNode;
use support::{Backend, TestDatabase};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const SECRET: &str = "whsec_egress_test";
const API_KEY: &str = "k-7f3a-not-for-other-origins";

fn envelope() -> Envelope {
    Envelope {
        run_id: Uuid::from_u128(0x11),
        job_id: Uuid::from_u128(0x22),
        job: "sync".into(),
        tenant_id: Uuid::from_u128(0x33),
        tenant: "acme".into(),
        scheduled_for: Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 0).unwrap(),
        attempt: 1,
        trigger: Trigger::Schedule,
        payload: serde_json::json!({"marker": "body-for-the-origin-only"}),
    }
}

// A server that records requests and answers by path: `/to/<url>` redirects (307, which keeps
// method and body) to `<url>`, anything else is 200.

#[derive(Debug, Clone)]
struct Seen {
    method: Method,
    target: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

type Log = Arc<Mutex<Vec<Seen>>>;

struct Server {
    base: String,
    log: Log,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    async fn start() -> Server {
        let log = Log::default();
        let app = Router::new().fallback(any(answer)).with_state(log.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Server { base, log, task }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }
}

async fn answer(
    State(log): State<Log>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let target = uri.path_and_query().map(ToString::to_string).unwrap_or_default();
    log.lock().unwrap().push(Seen { method, target: target.clone(), headers, body: body.to_vec() });
    match target.strip_prefix("/to/") {
        Some(location) => {
            (StatusCode::TEMPORARY_REDIRECT, [("location", location.to_owned())], "moved")
                .into_response()
        }
        None => (StatusCode::OK, "landed").into_response(),
    }
}

/// A POST with a custom secret header, signed with the tenant's secret.
async fn call(url: String, follow: FollowRedirects, egress: EgressPolicy) -> Outcome {
    let spec = HttpSpec { follow_redirects: follow, ..HttpSpec::post(url) }
        .with_header("X-Api-Key", API_KEY);
    let context =
        RunContext { signing_secret: SigningSecret::new(SECRET), ..RunContext::default() };
    let now = Utc.with_ymd_and_hms(2027, 3, 14, 7, 0, 1).unwrap();
    Executor::new()
        .with_clock(Arc::new(ManualClock::new(now)))
        .with_egress(egress)
        .execute_in(
            &ResolvedSpec::Http(spec),
            &envelope(),
            &context,
            Duration::from_secs(10),
            CancellationToken::new(),
        )
        .await
}

/// Reqwest used to follow up to 10 redirects anywhere, forwarding `X-Api-Key`, the signature and
/// (for a 307) the body to whatever origin the receiver named.
#[tokio::test]
async fn a_redirect_is_not_followed_by_default_and_the_run_names_the_location() {
    let origin = Server::start().await;
    let other = Server::start().await;
    let elsewhere = other.url("/collect?from=redirect");
    let outcome = call(
        origin.url(&format!("/to/{elsewhere}")),
        FollowRedirects::None,
        EgressPolicy::default(),
    )
    .await;

    assert_eq!(outcome.status, OutcomeStatus::Failed, "{outcome:?}");
    assert_eq!(outcome.http_status, Some(307));
    let error = outcome.error.as_deref().unwrap();
    assert!(error.starts_with("HTTP 307 Temporary Redirect: redirect to "), "{error}");
    assert!(error.contains(&elsewhere), "the Location is named: {error}");
    assert!(error.contains("not followed"), "{error}");
    assert_eq!(origin.seen().len(), 1);
    assert!(other.seen().is_empty(), "nothing reached the other origin: {:?}", other.seen());

    // A relative Location is shown resolved against the URL that answered.
    let outcome =
        call(origin.url("/to//next"), FollowRedirects::None, EgressPolicy::default()).await;
    let error = outcome.error.unwrap();
    assert!(error.contains(&format!("redirect to {}/next not followed", origin.base)), "{error}");
    assert_eq!(origin.seen().len(), 2, "and it was not followed either");
}

/// With the opt-in, a redirect within the origin is followed (method, body, headers and
/// signature go along: same origin), and one to another origin (another port) is not.
#[tokio::test]
async fn same_origin_redirects_are_followed_and_no_other_origin_sees_a_header() {
    let origin = Server::start().await;
    let other = Server::start().await;

    let outcome = call(
        origin.url(&format!("/to/{}", origin.url("/final?step=2"))),
        FollowRedirects::SameOrigin,
        EgressPolicy::default(),
    )
    .await;
    assert!(outcome.is_success(), "{outcome:?}");
    assert_eq!(outcome.output, "landed");
    let seen = origin.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let landed = &seen[1];
    assert_eq!((landed.method.as_str(), landed.target.as_str()), ("POST", "/final?step=2"));
    assert_eq!(landed.headers["x-api-key"], API_KEY);
    assert!(landed.headers.contains_key("rota-signature"));
    assert!(String::from_utf8_lossy(&landed.body).contains("body-for-the-origin-only"));

    // Same host, another port: another origin. Not followed, even from a followed hop.
    let cross = other.url("/collect");
    let hop = origin.url(&format!("/to/{cross}"));
    for start in [hop.clone(), origin.url(&format!("/to/{hop}"))] {
        let outcome = call(start, FollowRedirects::SameOrigin, EgressPolicy::default()).await;
        assert_eq!(outcome.status, OutcomeStatus::Failed, "{outcome:?}");
        let error = outcome.error.as_deref().unwrap();
        assert!(
            error.contains(&format!("redirect to {cross} not followed: another origin")),
            "{error}"
        );
    }
    assert!(other.seen().is_empty(), "nothing reached the other origin: {:?}", other.seen());
    // localhost and 127.0.0.1 are different origins too.
    let by_name = origin.url("/x").replace("127.0.0.1", "localhost");
    let outcome = call(
        origin.url(&format!("/to/{by_name}")),
        FollowRedirects::SameOrigin,
        EgressPolicy::default(),
    )
    .await;
    assert_eq!(outcome.status, OutcomeStatus::Failed, "{outcome:?}");

    // A loop within the origin ends after 10 redirects.
    let outcome = call(
        origin.url("/to//to//to//to//to//to//to//to//to//to//to//to//end"),
        FollowRedirects::SameOrigin,
        EgressPolicy::default(),
    )
    .await;
    assert_eq!(outcome.status, OutcomeStatus::Failed, "{outcome:?}");
}

/// The executor alone: a literal loopback address (which the HTTP client connects to without a
/// resolver) and a name resolving to loopback are both refused, and nothing arrives; with the
/// policy off (the default) the same calls land.
#[tokio::test]
async fn private_network_targets_are_refused_by_address_and_by_name() {
    let server = Server::start().await;
    let by_address = server.url("/ok");
    let by_name = by_address.replace("127.0.0.1", "localhost");
    for url in [&by_address, &by_name] {
        let outcome =
            call(url.clone(), FollowRedirects::None, EgressPolicy::deny_private_networks()).await;
        assert_eq!(outcome.status, OutcomeStatus::Failed, "{outcome:?}");
        let error = outcome.error.unwrap();
        assert!(error.starts_with(&format!("cannot connect to {url}: ")), "{error}");
        assert!(error.contains("127.0.0.1 (loopback)"), "{error}");
        assert!(error.ends_with("(--deny-private-networks)"), "{error}");
    }
    assert!(server.seen().is_empty(), "{:?}", server.seen());
    for url in [by_address, by_name] {
        let outcome = call(url, FollowRedirects::None, EgressPolicy::default()).await;
        assert!(outcome.is_success(), "{outcome:?}");
    }
    assert_eq!(server.seen().len(), 2);
}

// `rota serve` as a child process.

fn rota(url: &str, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_rota"))
        .arg("--database")
        .arg(url)
        .args(args)
        .output()
        .unwrap();
    assert!(output.status.success(), "rota {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Tenant `acme` with a signed webhook to `webhook` that hears about failed runs, and one job
/// per URL (named `job-0`, `job-1`, ...) without retries, each triggered once.
fn tenant_with_jobs(db: &TestDatabase, webhook: &str, urls: &[&str]) {
    rota(&db.url, &["migrate"]);
    rota(&db.url, &["tenant", "add", "acme"]);
    let mut set = std::process::Command::new(env!("CARGO_BIN_EXE_rota"));
    set.args(["--database", &db.url, "tenant", "set", "acme", "--webhook-url", webhook])
        .args(["--webhook-secret", "-", "--notify-run-failed", "true"])
        .stdin(std::process::Stdio::piped());
    let mut child = set.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), SECRET.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    for (index, url) in urls.iter().enumerate() {
        let name = format!("job-{index}");
        rota(
            &db.url,
            &[
                "job",
                "add",
                "--tenant",
                "acme",
                "--name",
                &name,
                "--schedule",
                "0 0 1 1 *",
                "--timeout",
                "60",
                "--max-retries",
                "0",
                "--http-url",
                url,
            ],
        );
        rota(&db.url, &["job", "trigger", "--tenant", "acme", "--name", &name]);
    }
}

/// Waits until every job's run finished and `deliveries` webhook attempts are logged.
async fn finished(
    db: &TestDatabase,
    node: &ServeNode,
    jobs: usize,
    deliveries: usize,
) -> (Vec<Run>, Vec<Delivery>) {
    let rota = Rota::new(db.store().await, Arc::new(SystemClock));
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let runs = rota.list_runs(&RunFilter::default()).await.unwrap();
        let done = runs.iter().filter(|run| run.finished_at.is_some()).count();
        let log = rota.deliveries(&DeliveryFilter::default()).await.unwrap();
        if done >= jobs && log.len() >= deliveries {
            return (runs, log);
        }
        assert!(
            Instant::now() < deadline,
            "runs {done}/{jobs}, deliveries {}/{deliveries}; log:\n{}",
            log.len(),
            node.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `rota serve --deny-private-networks`: a job calling 127.0.0.1, a job calling `localhost`, and
/// the webhook (by name) reporting their failures are all refused, naming the address and the
/// flag; the server never hears from Rota.
#[tokio::test]
async fn rota_serve_refuses_private_targets_for_handlers_and_webhooks() {
    let Some(db) = TestDatabase::create(Backend::Sqlite).await else { return };
    let server = Server::start().await;
    let literal = server.url("/job");
    let named = literal.replace("127.0.0.1", "localhost");
    let webhook = server.url("/hook").replace("127.0.0.1", "localhost");
    tenant_with_jobs(&db, &webhook, &[&literal, &named]);
    let logs = tempfile::tempdir().unwrap();
    let node = ServeNode::start(&db.url, "egress", logs.path(), &["--deny-private-networks"]);

    let (runs, deliveries) = finished(&db, &node, 2, 2).await;
    for run in &runs {
        assert_eq!(run.status, RunStatus::Failed, "{run:?}");
        let error = run.error.as_deref().unwrap();
        assert!(error.contains("127.0.0.1 (loopback)"), "{error}");
        assert!(error.contains("--deny-private-networks"), "{error}");
    }
    for delivery in &deliveries {
        assert_eq!(delivery.http_status, None, "{delivery:?}");
        let error = delivery.error.as_deref().unwrap();
        assert!(error.contains("localhost resolves only to "), "{error}");
        assert!(error.contains("(loopback)"), "{error}");
        assert!(error.contains("--deny-private-networks"), "{error}");
    }
    assert!(server.seen().is_empty(), "{:?}", server.seen());
}

// A server that answers every request with a huge body, generated as it is written.

/// Bytes each answer announces (and would send if read to the end).
const HUGE: u64 = 400 * 1024 * 1024;
/// The peak resident memory `rota serve` may reach while answered with [`HUGE`] bodies.
const MAX_PEAK_KB: u64 = 100 * 1024;

struct HugeServer {
    base: String,
    /// Bytes written to clients, over all connections.
    sent: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HugeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HugeServer {
    /// Answers `/ok...` with 200 and anything else with 500, each with a [`HUGE`] body.
    async fn start() -> HugeServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let sent = Arc::new(AtomicU64::default());
        let counter = sent.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                tokio::spawn(Self::answer(stream, counter.clone()));
            }
        });
        HugeServer { base, sent, task }
    }

    async fn answer(mut stream: tokio::net::TcpStream, sent: Arc<AtomicU64>) {
        // The request head; its body (a small JSON document) is left unread.
        let mut head = Vec::new();
        let mut buffer = [0u8; 4096];
        while !head.windows(4).any(|window| window == b"\r\n\r\n") {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => head.extend_from_slice(&buffer[..read]),
            }
        }
        let status = if head.starts_with(b"POST /ok") || head.starts_with(b"GET /ok") {
            "200 OK"
        } else {
            "500 Internal Server Error"
        };
        let answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {HUGE}\r\n\r\n"
        );
        if stream.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b'x'; 64 * 1024];
        let mut left = HUGE;
        while left > 0 {
            let part = &chunk[..chunk.len().min(left as usize)];
            if stream.write_all(part).await.is_err() {
                return; // The client hung up: it stopped reading.
            }
            sent.fetch_add(part.len() as u64, Ordering::Relaxed);
            left -= part.len() as u64;
        }
    }
}

/// A field of `/proc/<pid>/status` in kB (`VmHWM`: peak resident set; `VmRSS`: now).
fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with(field)).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A webhook receiver answering 500 with 800 MB grew `rota serve` to 1.65 GB: the error body
/// was read whole. Now the handler's output and the webhook's quoted error are cut, reading
/// stops there, and the daemon's peak resident memory stays small.
#[tokio::test]
async fn huge_replies_to_handlers_and_webhooks_keep_rota_serve_small() {
    let Some(db) = TestDatabase::create(Backend::Sqlite).await else { return };
    let huge = HugeServer::start().await;
    let ok = format!("{}/ok", huge.base);
    let failing = format!("{}/fail", huge.base);
    // Both jobs' runs and the webhook reporting the failed one get a huge answer.
    tenant_with_jobs(&db, &format!("{}/hook", huge.base), &[&ok, &failing]);
    let logs = tempfile::tempdir().unwrap();
    let node = ServeNode::start(&db.url, "bounded", logs.path(), &[]);
    let pid = node.pid();

    let (runs, deliveries) = finished(&db, &node, 2, 1).await;
    let peak_kb = status_kb(pid, "VmHWM");
    let now_kb = status_kb(pid, "VmRSS");
    let sent = huge.sent.load(Ordering::Relaxed);
    eprintln!(
        "rota serve: peak {} MB, now {} MB; the server sent {} MB of 3 × {} MB",
        peak_kb / 1024,
        now_kb / 1024,
        sent / (1024 * 1024),
        HUGE / (1024 * 1024)
    );

    let by_job = |name: &str| runs.iter().find(|run| run.job == name).unwrap();
    let succeeded = by_job("job-0");
    assert_eq!(succeeded.status, RunStatus::Succeeded, "{succeeded:?}");
    let output = succeeded.output.as_deref().unwrap();
    assert!(
        output.ends_with(" bytes truncated]"),
        "{}",
        &output[output.len().saturating_sub(80)..]
    );
    assert!(output.len() <= rota::handler::OUTPUT_LIMIT);
    let failed = by_job("job-1");
    assert_eq!(failed.status, RunStatus::Failed, "{failed:?}");
    assert_eq!(failed.http_status, Some(500));
    let delivery = &deliveries[0];
    assert_eq!(delivery.http_status, Some(500), "{delivery:?}");
    let error = delivery.error.as_deref().unwrap();
    assert!(error.starts_with("HTTP 500 Internal Server Error: xxx"), "{error}");
    assert!(error.ends_with(" bytes truncated]"), "{error}");
    assert!(error.len() < 400, "{error}");

    assert!(peak_kb < MAX_PEAK_KB, "rota serve peaked at {} MB", peak_kb / 1024);
    // Reading stopped early: what was sent is what the sockets' buffers took, not the bodies.
    assert!(sent < 100 * 1024 * 1024, "the server sent {} MB", sent / (1024 * 1024));
}

/// The opt-in is set with the CLI's flag and kept by `export` (and so by `apply`); a bad value
/// is refused naming the allowed ones.
#[tokio::test]
async fn follow_redirects_is_set_by_flag_and_kept_in_files() {
    let Some(db) = TestDatabase::create(Backend::Sqlite).await else { return };
    rota(&db.url, &["migrate"]);
    rota(&db.url, &["tenant", "add", "acme"]);
    let add = |name: &str, follow: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_rota"))
            .args(["--database", &db.url, "job", "add", "--tenant", "acme", "--name", name])
            .args(["--schedule", "@hourly", "--http-url", "https://example.com/hook"])
            .args(["--follow-redirects", follow])
            .output()
            .unwrap()
    };
    assert!(add("follows", "same-origin").status.success());
    let refused = add("sideways", "anywhere");
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("--follow-redirects: \"anywhere\" is invalid: allowed: none, same-origin"),
        "{stderr}"
    );
    let exported = rota(&db.url, &["export"]);
    assert!(exported.contains("follow_redirects: same-origin"), "{exported}");
    let job = Rota::new(db.store().await, Arc::new(SystemClock))
        .job(rota::api::JobRef::named("acme", "follows"))
        .await
        .unwrap();
    let rota::handler::HandlerSpec::Http(spec) = job.handler else { panic!("{job:?}") };
    assert_eq!(spec.follow_redirects, FollowRedirects::SameOrigin);
}
