//! The scheduler engine: it turns due schedules into queued runs, claims runs fairly, executes
//! them and records their results, keeps leases alive and recovers the runs of dead nodes.
//!
//! Each step is a method that tests call directly on virtual time ([`Engine::tick_once`],
//! [`Engine::dispatch_once`], [`Engine::reap_once`], [`Engine::maintain_once`]); [`Engine::run`]
//! only loops over them, sleeping until the next due instant rather than polling.
//!
//! Architecture invariant: the engine never imports `sqlx`; it speaks to the database through
//! [`Store`] only, so the same engine runs on Postgres and on SQLite.

mod execute;
pub mod plan;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::clock::Clock;
use crate::cron::Schedule;
use crate::error::Result;
use crate::handler::{Executor, HandlerRegistry};
use crate::store::{ClaimedRun, NodeInfo, RunResult, Store, TickReport};

pub use plan::{plan_tick, DueJob, PlannedRun, TickPlan};

/// How one scheduler process behaves.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Unique per process; it owns leases.
    pub node_id: String,
    /// Runs this node executes at once.
    pub workers: u32,
    /// How long a claimed run stays ours without renewal; a crashed node's runs are recovered
    /// after this much time.
    pub lease_ttl: Duration,
    /// Due jobs handled per tick transaction.
    pub tick_batch: u32,
    /// How long before an occurrence's instant the running engine queues it (see
    /// [`Engine::tick_until`]), so that it starts on time.
    pub tick_lookahead: Duration,
    /// Upper bound on runs claimed per claim statement.
    pub claim_batch: u32,
    /// How long before a run's `not_before` the running engine may claim it; the run then
    /// waits in its worker slot and starts on its instant. A claim is a transaction (on
    /// Postgres a disk flush, ~10 ms here), and a second's worth of occurrences due at the same
    /// instant takes several: claiming ahead takes that time off their start. Zero claims only
    /// what is ready now.
    pub claim_ahead: Duration,
    /// Longest the loops sleep before looking at the database again, for work created by other
    /// nodes or edits made by other processes.
    pub idle_recheck: Duration,
    /// On shutdown, how long running work may take to finish before it is handed back.
    pub shutdown_grace: Duration,
    /// Whether this process claims and executes runs (a console may only tick, or do nothing).
    pub execute: bool,
    /// How command handlers are isolated (environment allow-list, tenants' working
    /// directories, default limits, and the `rota __exec` wrapper that applies limits).
    pub command_policy: crate::handler::CommandPolicy,
}

impl EngineConfig {
    pub fn new(node_id: impl Into<String>) -> Self {
        EngineConfig {
            node_id: node_id.into(),
            workers: 8,
            lease_ttl: Duration::from_secs(30),
            tick_batch: 500,
            tick_lookahead: Duration::from_millis(250),
            claim_batch: 32,
            claim_ahead: Duration::from_millis(50),
            idle_recheck: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(30),
            execute: true,
            command_policy: crate::handler::CommandPolicy::default(),
        }
    }
}

/// Counters the engine keeps for `/metrics` and for tests.
#[derive(Debug, Default)]
pub struct EngineStats {
    pub ticks: std::sync::atomic::AtomicU64,
    pub enqueued: std::sync::atomic::AtomicU64,
    pub claimed: std::sync::atomic::AtomicU64,
    pub succeeded: std::sync::atomic::AtomicU64,
    pub failed: std::sync::atomic::AtomicU64,
    pub fenced_out: std::sync::atomic::AtomicU64,
    pub recovered: std::sync::atomic::AtomicU64,
    pub running: std::sync::atomic::AtomicU64,
}

/// One scheduler process's engine. Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Engine<S: Store> {
    inner: Arc<Inner<S>>,
}

struct Inner<S: Store> {
    store: S,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    executor: Executor,
    registry: HandlerRegistry,
    /// Worker slots; a permit is held for the whole execution of a run.
    slots: Arc<Semaphore>,
    /// Woken when runs were enqueued locally or a slot was freed.
    dispatch_wake: Notify,
    /// Woken when a job was created or edited in this process.
    schedule_changed: Notify,
    /// Parsed schedules by (expression, zone): parsing is cheap but not free at 100k jobs.
    schedules: Mutex<HashMap<(String, String), Schedule>>,
    results: mpsc::UnboundedSender<RunResult>,
    results_rx: Mutex<Option<mpsc::UnboundedReceiver<RunResult>>>,
    in_flight: tokio::sync::Mutex<JoinSet<()>>,
    /// Cancelled when the shutdown grace has passed: running handlers stop, runs are released.
    hard_stop: CancellationToken,
    /// The cancellation token of each run executing here, so that a run whose cancellation was
    /// requested (overlap `cancel_previous`) can be stopped. A std mutex: never held across an
    /// await.
    cancels: Mutex<HashMap<uuid::Uuid, CancellationToken>>,
    stats: EngineStats,
}

impl<S: Store> Engine<S> {
    pub fn new(store: S, clock: Arc<dyn Clock>, config: EngineConfig) -> Self {
        Self::with_registry(store, clock, config, HandlerRegistry::default())
    }

    /// An engine that can also run in-process Rust handlers registered by name.
    pub fn with_registry(
        store: S,
        clock: Arc<dyn Clock>,
        config: EngineConfig,
        registry: HandlerRegistry,
    ) -> Self {
        let (results, results_rx) = mpsc::unbounded_channel();
        let slots = Arc::new(Semaphore::new(config.workers as usize));
        Engine {
            inner: Arc::new(Inner {
                store,
                executor: Executor::new()
                    .with_command_policy(config.command_policy.clone())
                    .with_clock(Arc::clone(&clock)),
                clock,
                registry,
                slots,
                dispatch_wake: Notify::new(),
                schedule_changed: Notify::new(),
                schedules: Mutex::new(HashMap::new()),
                results,
                results_rx: Mutex::new(Some(results_rx)),
                in_flight: tokio::sync::Mutex::new(JoinSet::new()),
                hard_stop: CancellationToken::new(),
                cancels: Mutex::new(HashMap::new()),
                stats: EngineStats::default(),
                config,
            }),
        }
    }

    pub fn store(&self) -> &S {
        &self.inner.store
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.config
    }

    pub fn stats(&self) -> &EngineStats {
        &self.inner.stats
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// Tells the ticker that schedules changed (a job was added or edited in this process).
    pub fn notify_schedule_changed(&self) {
        self.inner.schedule_changed.notify_one();
    }

    /// Tells the dispatcher that runs were queued in this process (a manual trigger).
    pub fn notify_runs_queued(&self) {
        self.inner.dispatch_wake.notify_one();
    }

    /// One tick: every due job becomes queued runs and its next run instant advances, in one
    /// transaction per batch. Returns what was done across all batches.
    pub async fn tick_once(&self) -> Result<TickReport> {
        self.tick_until(self.now()).await
    }

    /// A tick for the jobs due up to `horizon`. The running engine ticks a little ahead of time
    /// ([`EngineConfig::tick_lookahead`]): an occurrence is queued before its instant with
    /// `not_before` at that instant, so the dispatcher claims it on time instead of after a
    /// tick's transaction. (Its overlap policy is then checked up to the lookahead early; its
    /// `queued_at` is when the tick ran.)
    pub async fn tick_until(&self, horizon: DateTime<Utc>) -> Result<TickReport> {
        let mut total = TickReport::default();
        loop {
            let plan = |due: &plan::DueJob| {
                let schedule = self.schedule_for(&due.schedule, &due.timezone);
                plan_tick(due, schedule.as_ref(), horizon)
            };
            // The rows record when the tick really ran, not the instant it looked ahead to.
            let now = self.now().min(horizon);
            let report = self
                .inner
                .store
                .enqueue_due(now, horizon, self.inner.config.tick_batch, &plan)
                .await?;
            total.jobs += report.jobs;
            total.enqueued += report.enqueued;
            total.recorded += report.recorded;
            if report.jobs < u64::from(self.inner.config.tick_batch) {
                break;
            }
        }
        let stats = &self.inner.stats;
        stats.ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        stats.enqueued.fetch_add(total.enqueued, std::sync::atomic::Ordering::Relaxed);
        if total.recorded > 0 {
            info!(
                recorded = total.recorded,
                "tick recorded occurrences that do not run (skipped or missed)"
            );
        }
        if total.enqueued > 0 {
            debug!(jobs = total.jobs, enqueued = total.enqueued, "tick enqueued runs");
            self.inner.dispatch_wake.notify_one();
        }
        Ok(total)
    }

    fn schedule_for(&self, expression: &str, timezone: &str) -> Option<Schedule> {
        let key = (expression.to_owned(), timezone.to_owned());
        let mut cache = self.inner.schedules.lock().unwrap_or_else(|poison| poison.into_inner());
        if let Some(schedule) = cache.get(&key) {
            return Some(schedule.clone());
        }
        match Schedule::parse(expression, timezone) {
            Ok(schedule) => {
                // Bounded so a stream of distinct edits cannot grow the cache without limit.
                if cache.len() > 100_000 {
                    cache.clear();
                }
                cache.insert(key, schedule.clone());
                Some(schedule)
            }
            Err(error) => {
                warn!(%expression, %timezone, %error, "stored schedule does not parse; job will not fire");
                None
            }
        }
    }

    /// Claims as many runs as there are free worker slots and starts executing them. Returns
    /// the number started. The runs finish in the background; their results are recorded by
    /// [`Engine::record_results_once`] (or the completion loop inside [`Engine::run`]).
    pub async fn dispatch_once(&self) -> Result<usize> {
        let limit = self.claim_limit();
        if limit == 0 {
            return Ok(0);
        }
        let now = self.now();
        let claimed = self
            .inner
            .store
            .claim(&self.inner.config.node_id, now, limit, self.inner.config.lease_ttl)
            .await?;
        Ok(self.start_claimed(claimed).await)
    }

    /// How many runs the next claim may take: the free worker slots, at most `claim_batch`;
    /// none once the hard stop began.
    fn claim_limit(&self) -> u32 {
        if self.inner.hard_stop.is_cancelled() {
            return 0;
        }
        let free = self.inner.slots.available_permits();
        free.min(self.inner.config.claim_batch as usize) as u32
    }

    /// Records `results` and claims for the free slots in one transaction (either part may be
    /// empty), then starts the claimed runs. Returns the number started. Runs due within
    /// [`EngineConfig::claim_ahead`] are claimed too and start on their instant.
    async fn record_and_dispatch(&self, results: &[RunResult]) -> Result<usize> {
        let limit = self.claim_limit();
        let config = &self.inner.config;
        let store = &self.inner.store;
        if limit == 0 {
            if !results.is_empty() {
                let accepted = store.complete(results).await?;
                self.count_results(results, &accepted);
            }
            return Ok(0);
        }
        let now = self.now();
        let ready_until = now + chrono_duration(config.claim_ahead);
        let (accepted, claimed) = store
            .record_and_claim(results, &config.node_id, now, ready_until, limit, config.lease_ttl)
            .await?;
        self.count_results(results, &accepted);
        Ok(self.start_claimed(claimed).await)
    }

    /// Starts executing claimed runs, each holding a worker slot until it finishes.
    async fn start_claimed(&self, claimed: Vec<ClaimedRun>) -> usize {
        let started = claimed.len();
        self.inner.stats.claimed.fetch_add(started as u64, std::sync::atomic::Ordering::Relaxed);
        let mut in_flight = self.inner.in_flight.lock().await;
        // Reap finished tasks so the set does not grow with history.
        while in_flight.try_join_next().is_some() {}
        for run in claimed {
            let permit = match self.inner.slots.clone().try_acquire_owned() {
                Ok(permit) => permit,
                // Cannot happen while only the dispatcher acquires slots; if it does, wait.
                Err(_) => self
                    .inner
                    .slots
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("semaphore is never closed"),
            };
            let engine = self.clone();
            let span = info_span!("run", run_id = %run.run.id, job = %run.run.job, tenant = %run.run.tenant, attempt = run.run.attempt);
            in_flight.spawn(
                async move {
                    engine.inner.stats.running.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let result = engine.execute_claimed(run).await;
                    engine.inner.stats.running.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
                    drop(permit);
                    if let Some(result) = result {
                        // The receiver lives as long as the engine; a send error means shutdown.
                        let _ = engine.inner.results.send(result);
                    }
                    engine.inner.dispatch_wake.notify_one();
                }
                .instrument(span),
            );
        }
        started
    }

    /// Records every result that finished executing so far, in one batch. Returns how many.
    pub async fn record_results_once(&self) -> Result<usize> {
        let mut receiver = self.take_results_receiver();
        let mut batch = Vec::new();
        if let Some(receiver) = receiver.as_mut() {
            while let Ok(result) = receiver.try_recv() {
                batch.push(result);
            }
        }
        self.put_results_receiver(receiver);
        self.record(&batch).await?;
        Ok(batch.len())
    }

    fn take_results_receiver(&self) -> Option<mpsc::UnboundedReceiver<RunResult>> {
        self.inner.results_rx.lock().unwrap_or_else(|poison| poison.into_inner()).take()
    }

    fn put_results_receiver(&self, receiver: Option<mpsc::UnboundedReceiver<RunResult>>) {
        if receiver.is_some() {
            *self.inner.results_rx.lock().unwrap_or_else(|poison| poison.into_inner()) = receiver;
        }
    }

    async fn record(&self, batch: &[RunResult]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let accepted = self.inner.store.complete(batch).await?;
        self.count_results(batch, &accepted);
        Ok(())
    }

    fn count_results(&self, batch: &[RunResult], accepted: &[bool]) {
        let stats = &self.inner.stats;
        for (result, &accepted) in batch.iter().zip(accepted) {
            if !accepted {
                warn!(run_id = %result.run_id, "result discarded: this node's claim was superseded (fenced out)");
                stats.fenced_out.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            } else if result.status == crate::run::RunStatus::Succeeded {
                stats.succeeded.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            } else {
                stats.failed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Waits until every run started by this engine has finished executing (tests use this on
    /// virtual time; the results still need [`Engine::record_results_once`]).
    pub async fn wait_idle(&self) {
        let mut in_flight = self.inner.in_flight.lock().await;
        while in_flight.join_next().await.is_some() {}
    }

    /// Marks runs whose lease expired as lost and queues their next attempt.
    pub async fn reap_once(&self) -> Result<usize> {
        let lost = self.inner.store.recover_expired(self.now()).await?;
        if !lost.is_empty() {
            for run in &lost {
                warn!(run_id = %run.id, job = %run.job, owner = ?run.lease_owner, "run lost: its node stopped renewing the lease; queued again");
            }
            self.inner
                .stats
                .recovered
                .fetch_add(lost.len() as u64, std::sync::atomic::Ordering::Relaxed);
            self.inner.dispatch_wake.notify_one();
        }
        Ok(lost.len())
    }

    /// Renews this node's leases and heartbeat, and stops the runs whose cancellation was
    /// requested (overlap `cancel_previous`): they end `cancelled`.
    pub async fn maintain_once(&self) -> Result<()> {
        let now = self.now();
        let config = &self.inner.config;
        self.inner.store.renew_leases(&config.node_id, now, config.lease_ttl).await?;
        self.inner.store.heartbeat(&config.node_id, now).await?;
        let requested = self.inner.store.cancel_requested(&config.node_id).await?;
        if !requested.is_empty() {
            let cancels = self.inner.cancels.lock().unwrap_or_else(|poison| poison.into_inner());
            for run_id in requested {
                if let Some(token) = cancels.get(&run_id) {
                    info!(%run_id, "cancelling run: a newer occurrence replaces it");
                    token.cancel();
                }
            }
        }
        Ok(())
    }

    /// A cancellation token for a run about to execute here (a child of the hard stop).
    pub(crate) fn register_run(&self, run_id: uuid::Uuid) -> CancellationToken {
        let token = self.inner.hard_stop.child_token();
        let mut cancels = self.inner.cancels.lock().unwrap_or_else(|poison| poison.into_inner());
        cancels.insert(run_id, token.clone());
        token
    }

    pub(crate) fn unregister_run(&self, run_id: uuid::Uuid) {
        let mut cancels = self.inner.cancels.lock().unwrap_or_else(|poison| poison.into_inner());
        cancels.remove(&run_id);
    }

    /// Registers this node in the `nodes` table.
    pub async fn register(&self) -> Result<()> {
        let now = self.now();
        let config = &self.inner.config;
        let node = NodeInfo {
            id: config.node_id.clone(),
            host: host_name(),
            pid: std::process::id(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            workers: config.workers,
            started_at: now,
            heartbeat_at: now,
            stopped_at: None,
        };
        self.inner.store.register_node(&node).await?;
        // Runs still leased to this id belong to a previous incarnation that died (a restart
        // reuses `--node-id`): they can never finish, so recover them now instead of renewing
        // their leases forever.
        let orphaned = self.inner.store.expire_leases_of_node(&config.node_id, now).await?;
        if orphaned > 0 {
            warn!(orphaned, "runs held by a previous incarnation of this node; recovering them");
            self.reap_once().await?;
        }
        Ok(())
    }

    async fn execute_claimed(&self, claimed: ClaimedRun) -> Option<RunResult> {
        execute::execute(self, claimed).await
    }

    /// Runs the engine until `shutdown` is cancelled, then stops claiming, lets running work
    /// finish within the grace, hands back what is left and marks the node stopped.
    pub async fn run(&self, shutdown: CancellationToken) -> Result<()> {
        self.register().await?;
        info!(node = %self.inner.config.node_id, workers = self.inner.config.workers, "engine started");
        let mut loops = JoinSet::new();
        loops.spawn(self.clone().ticker_loop(shutdown.clone()));
        loops.spawn(self.clone().maintenance_loop(shutdown.clone()));
        if self.inner.config.execute {
            loops.spawn(self.clone().dispatcher_loop(shutdown.clone()));
        }
        while let Some(joined) = loops.join_next().await {
            if let Ok(Err(error)) = joined {
                warn!(%error, "engine loop stopped with an error");
            }
        }
        self.drain().await
    }

    async fn drain(&self) -> Result<()> {
        let grace = self.inner.config.shutdown_grace;
        let finished = tokio::time::timeout(grace, self.wait_idle()).await.is_ok();
        if !finished {
            warn!(
                grace_s = grace.as_secs(),
                "shutdown grace passed; stopping running handlers and handing their runs back"
            );
            self.inner.hard_stop.cancel();
            self.wait_idle().await;
        }
        // Every run has sent its result by now: record them before handing the rest back.
        self.record_remaining().await?;
        let now = self.now();
        let released = self.inner.store.release(&self.inner.config.node_id, now).await?;
        if released > 0 {
            info!(released, "handed unfinished runs back to the queue");
        }
        self.inner.store.mark_node_stopped(&self.inner.config.node_id, now).await?;
        info!("engine stopped");
        Ok(())
    }

    async fn ticker_loop(self, shutdown: CancellationToken) -> Result<()> {
        while !shutdown.is_cancelled() {
            let lookahead = chrono_duration(self.inner.config.tick_lookahead);
            if let Err(error) = self.tick_until(self.now() + lookahead).await {
                warn!(%error, "tick failed; retrying");
            }
            let now = self.now();
            let recheck = now + chrono_duration(self.inner.config.idle_recheck);
            let wake_at = match self.inner.store.next_due_at().await {
                Ok(Some(next)) => (next - lookahead).min(recheck),
                Ok(None) => recheck,
                Err(error) => {
                    warn!(%error, "cannot read the next due instant");
                    recheck
                }
            };
            let sleep = (wake_at - self.now()).to_std().unwrap_or(Duration::ZERO);
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.inner.schedule_changed.notified() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
        Ok(())
    }

    /// Claims for free slots and records what finished, in one transaction whenever both have
    /// work: one commit (on Postgres, one disk flush) per cycle instead of two. A failed write
    /// keeps its results and is retried: losing a result would run the occurrence again later.
    async fn dispatcher_loop(self, shutdown: CancellationToken) -> Result<()> {
        let Some(mut receiver) = self.take_results_receiver() else { return Ok(()) };
        let mut pending: Vec<RunResult> = Vec::new();
        let mut retry_delay = RETRY_FIRST;
        while !shutdown.is_cancelled() {
            while pending.len() < RESULT_BATCH {
                match receiver.try_recv() {
                    Ok(result) => pending.push(result),
                    Err(_) => break,
                }
            }
            let started = match self.record_and_dispatch(&pending).await {
                Ok(started) => {
                    pending.clear();
                    retry_delay = RETRY_FIRST;
                    started
                }
                Err(error) => {
                    warn!(%error, results = pending.len(), "recording results or claiming failed; retrying");
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = tokio::time::sleep(retry_delay) => {}
                    }
                    retry_delay = (retry_delay * 2).min(RETRY_LAST);
                    continue;
                }
            };
            // A full claim means more may be ready: claim again at once if a slot is free;
            // results that arrived meanwhile are recorded in the same transaction.
            if (started > 0 && self.inner.slots.available_permits() > 0) || !receiver.is_empty() {
                continue;
            }
            let sleep = self.next_dispatch_sleep().await;
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.inner.dispatch_wake.notified() => {}
                received = receiver.recv() => pending.extend(received),
                () = tokio::time::sleep(sleep) => {}
            }
        }
        // Whatever is still unrecorded goes back in line for the drain (the channel keeps
        // the order of the rest; these are recorded first).
        let result = self.record_with_retries(&pending).await;
        self.put_results_receiver(Some(receiver));
        result
    }

    /// Until the earliest queued run may be claimed (its `not_before` less the claim-ahead),
    /// bounded by the idle recheck (runs queued by other nodes are found then).
    async fn next_dispatch_sleep(&self) -> Duration {
        let recheck = self.inner.config.idle_recheck.min(Duration::from_millis(250));
        let horizon = self.now() + chrono_duration(self.inner.config.claim_ahead);
        match self.inner.store.next_ready_at().await {
            // A run claimable already means the ready runs belong to tenants at their limit: a
            // local completion wakes the dispatcher, other nodes' within the recheck.
            Ok(Some(ready)) if ready <= horizon => recheck,
            Ok(Some(ready)) => (ready - horizon).to_std().unwrap_or(Duration::ZERO).min(recheck),
            _ => recheck,
        }
    }

    async fn maintenance_loop(self, shutdown: CancellationToken) -> Result<()> {
        let period = (self.inner.config.lease_ttl / 3).max(Duration::from_millis(100));
        while !shutdown.is_cancelled() {
            if let Err(error) = self.maintain_once().await {
                warn!(%error, "lease renewal failed");
            }
            if let Err(error) = self.reap_once().await {
                warn!(%error, "recovery of expired leases failed");
            }
            let sleep = self.next_maintenance_sleep(period).await;
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(sleep) => {}
            }
        }
        Ok(())
    }

    /// Until the next renewal, or sooner when some lease (a dead node's: this node renews its
    /// own before they run out) expires first, so its runs are recovered within moments of the
    /// expiry rather than up to a renewal period later.
    async fn next_maintenance_sleep(&self, period: Duration) -> Duration {
        match self.inner.store.next_lease_expiry().await {
            Ok(Some(expiry)) => {
                // Just past the instant: recovery takes leases with `lease_expires_at < now`.
                let until = expiry + chrono::Duration::milliseconds(5) - self.now();
                until.to_std().unwrap_or(Duration::ZERO).clamp(Duration::from_millis(20), period)
            }
            Ok(None) => period,
            Err(error) => {
                warn!(%error, "cannot read the next lease expiry");
                period
            }
        }
    }

    /// Records every result still waiting (at shutdown, once every handler has finished).
    async fn record_remaining(&self) -> Result<()> {
        let Some(mut receiver) = self.take_results_receiver() else { return Ok(()) };
        let mut batch = Vec::new();
        let mut outcome = Ok(());
        loop {
            while batch.len() < RESULT_BATCH {
                match receiver.try_recv() {
                    Ok(result) => batch.push(result),
                    Err(_) => break,
                }
            }
            if batch.is_empty() {
                break;
            }
            if let Err(error) = self.record_with_retries(&batch).await {
                outcome = Err(error);
                break;
            }
            batch.clear();
        }
        self.put_results_receiver(Some(receiver));
        outcome
    }

    /// Records `batch`, retrying a failed write with backoff (a few times: at shutdown the
    /// database may be gone for good; the runs are then recovered from their leases).
    async fn record_with_retries(&self, batch: &[RunResult]) -> Result<()> {
        let mut delay = RETRY_FIRST;
        let mut attempts = 0;
        loop {
            match self.record(batch).await {
                Ok(()) => return Ok(()),
                Err(error) if attempts < 8 => {
                    warn!(%error, results = batch.len(), "recording results failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(RETRY_LAST);
                    attempts += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }

    pub(crate) fn executor(&self) -> &Executor {
        &self.inner.executor
    }

    pub(crate) fn registry(&self) -> &HandlerRegistry {
        &self.inner.registry
    }

    pub(crate) fn hard_stop(&self) -> &CancellationToken {
        &self.inner.hard_stop
    }

    pub(crate) fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }
}

/// Results recorded per transaction, at most.
const RESULT_BATCH: usize = 256;
/// Backoff of a failed write of results: first and longest delay.
const RETRY_FIRST: Duration = Duration::from_millis(50);
const RETRY_LAST: Duration = Duration::from_secs(5);

pub(crate) fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".to_owned())
}
