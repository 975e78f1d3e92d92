//! A local HTTP receiver for HTTP jobs: it answers every `POST` after a delay (so runs are in
//! flight when a fault begins) and records each delivery by `Idempotency-Key`, with the
//! attempt and trigger from the envelope. It listens on 127.0.0.1 and stops when dropped, or
//! after its lifetime at the latest.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use tokio_util::sync::CancellationToken;

/// One request the receiver answered (or was answering when its client went away).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub attempt: u64,
    pub trigger: String,
    /// Whether the receiver sent its answer: false when the client hung up first.
    pub answered: bool,
}

#[derive(Default)]
struct Deliveries {
    by_key: BTreeMap<String, Vec<Delivery>>,
    in_flight: u32,
}

struct Shared {
    deliveries: Mutex<Deliveries>,
    delay: Duration,
}

pub struct Receiver {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl Receiver {
    /// A receiver answering each request `delay` after it arrived; it stops when dropped or
    /// after `lifetime`.
    pub async fn start(delay: Duration, lifetime: Duration) -> Receiver {
        let shared = Arc::new(Shared { deliveries: Mutex::default(), delay });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("the receiver's address");
        let stop = CancellationToken::new();
        let app = Router::new().route("/hook", post(hook)).with_state(shared.clone());
        let stopped = stop.clone();
        tokio::spawn(async move {
            let end = async move {
                tokio::select! {
                    () = stopped.cancelled() => {}
                    () = tokio::time::sleep(lifetime) => {}
                }
            };
            let _ = axum::serve(listener, app).with_graceful_shutdown(end).await;
        });
        Receiver { addr, shared, stop }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// Requests being answered right now.
    pub fn in_flight(&self) -> u32 {
        self.lock().in_flight
    }

    /// Every delivery so far, by idempotency key, in arrival order.
    pub fn deliveries(&self) -> BTreeMap<String, Vec<Delivery>> {
        self.lock().by_key.clone()
    }

    pub fn count(&self) -> usize {
        self.lock().by_key.values().map(Vec::len).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Deliveries> {
        self.shared.deliveries.lock().unwrap_or_else(|poison| poison.into_inner())
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn hook(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Json(body): Json<serde_json::Value>,
) -> &'static str {
    let key =
        headers.get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let delivery = Delivery {
        attempt: body["attempt"].as_u64().unwrap_or_default(),
        trigger: body["trigger"].as_str().unwrap_or_default().to_owned(),
        answered: false,
    };
    let index = {
        let mut deliveries = shared.deliveries.lock().unwrap_or_else(|poison| poison.into_inner());
        deliveries.in_flight += 1;
        let list = deliveries.by_key.entry(key.clone()).or_default();
        list.push(delivery);
        list.len() - 1
    };
    // The server drops this future when the client disconnects: the guard keeps the count
    // right and leaves `answered` false.
    let mut guard = Answering { shared: shared.clone(), key, index, answered: false };
    tokio::time::sleep(shared.delay).await;
    guard.answered = true;
    "ok"
}

struct Answering {
    shared: Arc<Shared>,
    key: String,
    index: usize,
    answered: bool,
}

impl Drop for Answering {
    fn drop(&mut self) {
        let mut deliveries =
            self.shared.deliveries.lock().unwrap_or_else(|poison| poison.into_inner());
        deliveries.in_flight -= 1;
        if let Some(delivery) =
            deliveries.by_key.get_mut(&self.key).and_then(|list| list.get_mut(self.index))
        {
            delivery.answered = self.answered;
        }
    }
}
