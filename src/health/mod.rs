//! Whether a node works, told truthfully: when its database last answered, whether its calls
//! fail or hang, and when each of its loops last completed an iteration. `rota serve` answers
//! `/healthz` from [`Health::report`] and exports the same numbers on `/metrics`.
//!
//! Every database call of the engine and the notification worker goes through
//! [`Health::observe`], which keeps the node's view of its database ([`contact`]): the reaper
//! reads it so that leases that expired while this node itself could not reach the database
//! are not taken for dead nodes. Loops pace themselves with [`pacing`]: exponential backoff on
//! repeated failure, and a streak of failures logged in a few lines with counts.

pub mod contact;
pub mod pacing;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::Notify;
use tracing::{info, warn};

use crate::clock::Clock;
use crate::error::{ErrorCode, Result};
use contact::{Answer, CallTicket, Contact, ReapGate};
use pacing::{Backoff, FailureLog, FailureNotice, REPEAT_LOG_PERIOD, RETRY_FIRST};

/// The loops of a node, as health reports name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoopName {
    /// Turns due schedules into queued runs.
    Tick,
    /// Records finished runs' results and claims runs for free slots (one transaction).
    Dispatch,
    /// Renews this node's leases and heartbeat; stops runs whose cancellation was requested.
    Maintain,
    /// Recovers the runs of nodes that stopped renewing their leases.
    Reap,
    /// Delivers tenants' notifications from the outbox.
    Outbox,
    /// Deletes runs and notifications past their retention.
    Retention,
    /// Records the last results and hands work back when the node stops (never reported as a
    /// running loop; it names the node's shutdown in logs).
    Shutdown,
}

impl LoopName {
    pub fn as_str(self) -> &'static str {
        match self {
            LoopName::Tick => "tick",
            LoopName::Dispatch => "dispatch",
            LoopName::Maintain => "maintain",
            LoopName::Reap => "reap",
            LoopName::Outbox => "outbox",
            LoopName::Retention => "retention",
            LoopName::Shutdown => "shutdown",
        }
    }
}

impl std::fmt::Display for LoopName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When a node counts as unhealthy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthLimits {
    /// A database call waiting longer than this is a stall: contact is broken while it waits.
    /// Below two thirds of the lease, so that a stall long enough to cost a lease is noticed.
    pub stall_after: Duration,
    /// Healthy only while the database answered within this.
    pub silent_after: Duration,
}

impl HealthLimits {
    /// The limits for a node with leases of `lease` whose loops look at the database at least
    /// every `idle_recheck`: a stall is a renewal period (a third of the lease) without an
    /// answer; silence is that plus the longest idle sleep.
    pub fn for_lease(lease: Duration, idle_recheck: Duration) -> HealthLimits {
        let stall_after = (lease / 3).max(Duration::from_millis(250));
        HealthLimits { stall_after, silent_after: stall_after + idle_recheck }
    }
}

impl Default for HealthLimits {
    fn default() -> Self {
        HealthLimits::for_lease(Duration::from_secs(30), Duration::from_secs(1))
    }
}

#[derive(Debug, Clone, Copy)]
struct LoopState {
    /// The longest a healthy iteration takes, sleep included.
    period: Duration,
    last_completed: DateTime<Utc>,
}

/// A node's health: its database contact and its loops. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Health {
    inner: Arc<Inner>,
}

struct Inner {
    clock: Arc<dyn Clock>,
    limits: HealthLimits,
    /// Std mutexes: held for a few assignments, never across an await.
    contact: Mutex<Contact>,
    loops: Mutex<BTreeMap<LoopName, LoopState>>,
    /// Woken when contact resumes after a break, so loops waiting out a backoff try at once.
    resumed: Notify,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health").field("limits", &self.inner.limits).finish_non_exhaustive()
    }
}

/// What is wrong with a node, in words for people; `component` is `database` or a loop's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthProblem {
    pub component: String,
    pub problem: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    Healthy,
    Unhealthy,
}

/// The database as this node sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatabaseHealth {
    pub last_answer_at: Option<DateTime<Utc>>,
    /// Seconds since the last answer.
    pub last_answer_age_s: Option<f64>,
    /// Since when calls fail, and the latest error.
    pub failing_since: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    /// Seconds the longest waiting call has waited.
    pub longest_wait_s: Option<f64>,
    pub errors: u64,
    pub reconnects: u64,
}

/// One loop as this node sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoopHealth {
    pub name: LoopName,
    pub last_completed_at: DateTime<Utc>,
    /// Seconds since the loop last completed an iteration.
    pub age_s: f64,
    /// Older than this is a problem.
    pub limit_s: f64,
}

/// The answer of `/healthz`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HealthReport {
    pub status: HealthStatus,
    pub problems: Vec<HealthProblem>,
    pub database: DatabaseHealth,
    pub loops: Vec<LoopHealth>,
}

impl HealthReport {
    pub fn is_healthy(&self) -> bool {
        self.status == HealthStatus::Healthy
    }
}

fn seconds(duration: chrono::Duration) -> f64 {
    duration.num_milliseconds().max(0) as f64 / 1000.0
}

impl Health {
    pub fn new(clock: Arc<dyn Clock>, limits: HealthLimits) -> Health {
        Health {
            inner: Arc::new(Inner {
                clock,
                contact: Mutex::new(Contact::new(limits.stall_after)),
                limits,
                loops: Mutex::new(BTreeMap::new()),
                resumed: Notify::new(),
            }),
        }
    }

    pub fn limits(&self) -> HealthLimits {
        self.inner.limits
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    fn contact(&self) -> std::sync::MutexGuard<'_, Contact> {
        self.inner.contact.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    fn loops(&self) -> std::sync::MutexGuard<'_, BTreeMap<LoopName, LoopState>> {
        self.inner.loops.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// Runs one database call and notes what it says about the database: an answer (any
    /// result but a database error), a failure, or, while it waits, a possible stall.
    pub async fn observe<T>(&self, call: impl Future<Output = Result<T>>) -> Result<T> {
        let ticket = self.contact().call_started(self.now());
        let mut waiting = WaitingCall { health: self, ticket: Some(ticket) };
        let result = call.await;
        waiting.ticket = None;
        let now = self.now();
        match &result {
            Err(error) if error.code() == ErrorCode::Database => {
                self.contact().failed(ticket, now, &error.to_string());
            }
            _ => {
                let answer = self.contact().answered(ticket, now);
                if answer == Answer::Resumed {
                    info!("the database answers again");
                    self.inner.resumed.notify_waiters();
                }
            }
        }
        result
    }

    /// Completes when contact with the database resumes after a break.
    pub async fn resumed(&self) {
        self.inner.resumed.notified().await;
    }

    /// How many times contact broke so far: a change means the database was away since.
    pub fn breaks(&self) -> u64 {
        self.contact().breaks()
    }

    pub fn database_errors(&self) -> u64 {
        self.contact().errors()
    }

    pub fn reconnects(&self) -> u64 {
        self.contact().reconnects()
    }

    pub fn last_answer(&self) -> Option<DateTime<Utc>> {
        self.contact().last_answer()
    }

    /// Whether the reaper may recover leases that expired before `now` (see
    /// [`Contact::reap_gate`]).
    pub fn reap_gate_at(&self, now: DateTime<Utc>, lease: Duration) -> ReapGate {
        self.contact().reap_gate(now, lease)
    }

    /// Whether a database call has been waiting longer than the stall limit.
    pub fn stalled(&self) -> bool {
        self.contact().stalled(self.now())
    }

    /// A loop starts; it is expected to complete an iteration at least every `period`.
    pub fn loop_started(&self, name: LoopName, period: Duration) {
        let now = self.now();
        self.loops().insert(name, LoopState { period, last_completed: now });
    }

    /// A loop stopped (shutdown): it is no longer expected to complete iterations.
    pub fn loop_stopped(&self, name: LoopName) {
        self.loops().remove(&name);
    }

    pub fn iteration_completed(&self, name: LoopName) {
        let now = self.now();
        if let Some(state) = self.loops().get_mut(&name) {
            state.last_completed = now;
        }
    }

    /// Seconds since each running loop last completed an iteration.
    pub fn loop_ages(&self) -> Vec<(LoopName, f64)> {
        let now = self.now();
        self.loops()
            .iter()
            .map(|(name, state)| (*name, seconds(now - state.last_completed)))
            .collect()
    }

    /// Healthy only while the database answered recently, no call has waited past the stall
    /// limit, no call fails, and each running loop completed an iteration recently; otherwise
    /// the problems name what is wrong.
    pub fn report(&self) -> HealthReport {
        let now = self.now();
        let limits = self.inner.limits;
        let mut problems = Vec::new();
        let database = {
            let contact = self.contact();
            let failing = contact.failing();
            let longest_wait = contact.oldest_waiting().map(|started| now - started);
            let database = DatabaseHealth {
                last_answer_at: contact.last_answer(),
                last_answer_age_s: contact.last_answer().map(|at| seconds(now - at)),
                failing_since: failing.map(|(since, _)| since),
                last_error: failing.map(|(_, error)| error.to_owned()),
                longest_wait_s: longest_wait.map(seconds),
                errors: contact.errors(),
                reconnects: contact.reconnects(),
            };
            let mut problem = |text: String| {
                problems.push(HealthProblem { component: "database".into(), problem: text })
            };
            if let Some((since, error)) = failing {
                problem(format!(
                    "the database fails since {} ({:.1} s): {error}",
                    since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    seconds(now - since)
                ));
            }
            if contact.stalled(now) {
                problem(format!(
                    "a database call has waited {:.1} s without an answer (limit {:.1} s)",
                    longest_wait.map(seconds).unwrap_or_default(),
                    limits.stall_after.as_secs_f64()
                ));
            }
            match contact.last_answer() {
                Some(at) if now - at > chrono_duration(limits.silent_after) => problem(format!(
                    "the database last answered {:.1} s ago (limit {:.1} s)",
                    seconds(now - at),
                    limits.silent_after.as_secs_f64()
                )),
                Some(_) => {}
                None => problem("the database has not answered yet".into()),
            }
            database
        };
        let loops: Vec<LoopHealth> = self
            .loops()
            .iter()
            .map(|(name, state)| {
                let limit = state.period + limits.stall_after;
                LoopHealth {
                    name: *name,
                    last_completed_at: state.last_completed,
                    age_s: seconds(now - state.last_completed),
                    limit_s: limit.as_secs_f64(),
                }
            })
            .collect();
        for state in &loops {
            if state.age_s > state.limit_s {
                problems.push(HealthProblem {
                    component: format!("loop {}", state.name),
                    problem: format!(
                        "no completed iteration for {:.1} s (limit {:.1} s)",
                        state.age_s, state.limit_s
                    ),
                });
            }
        }
        let status =
            if problems.is_empty() { HealthStatus::Healthy } else { HealthStatus::Unhealthy };
        HealthReport { status, problems, database, loops }
    }
}

/// Takes a call that was dropped before it ended (its loop was stopped) off the waiting list.
struct WaitingCall<'a> {
    health: &'a Health,
    ticket: Option<CallTicket>,
}

impl Drop for WaitingCall<'_> {
    fn drop(&mut self) {
        if let Some(ticket) = self.ticket.take() {
            self.health.contact().call_abandoned(ticket);
        }
    }
}

fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

/// One loop's pacing: the backoff after failures, the failure log, and its health entry.
pub struct LoopPacer {
    name: LoopName,
    health: Health,
    backoff: Backoff,
    log: FailureLog,
}

impl LoopPacer {
    /// A pacer for loop `name`, whose delays after failures double up to `cap`.
    pub fn new(name: LoopName, health: Health, cap: Duration) -> LoopPacer {
        LoopPacer {
            name,
            health,
            backoff: Backoff::new(RETRY_FIRST, cap),
            log: FailureLog::new(REPEAT_LOG_PERIOD),
        }
    }

    /// The iteration completed.
    pub fn succeeded(&mut self) {
        self.health.iteration_completed(self.name);
        self.backoff.reset();
        if let Some(FailureNotice::Ended { total, since }) = self.log.succeeded() {
            let lasted_s = seconds(self.health.now() - since);
            info!(loop_name = %self.name, failures = total, lasted_s, "loop works again");
        }
    }

    /// The iteration failed with `error`: logs it if due, and returns how long to wait.
    pub fn failed(&mut self, error: &crate::Error) -> Duration {
        let delay = self.backoff.next_delay();
        match self.log.failed(self.health.now()) {
            Some(FailureNotice::Started) => warn!(
                loop_name = %self.name,
                %error,
                retry_in_ms = delay.as_millis() as u64,
                "loop step failed; retrying with backoff (repeats are counted and logged every {} s)",
                REPEAT_LOG_PERIOD.as_secs()
            ),
            Some(FailureNotice::Continuing { failures, total, since }) => warn!(
                loop_name = %self.name,
                %error,
                failures,
                total,
                since = %since.to_rfc3339(),
                "loop step still failing"
            ),
            _ => {}
        }
        delay
    }

    /// Failures in the current streak.
    pub fn failures(&self) -> u64 {
        self.log.failures()
    }
}
