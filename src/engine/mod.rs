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
mod metrics;
pub mod plan;
mod results;
pub mod retention;
mod stats;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::timeout_at;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, info_span, warn, Instrument};

use crate::calendars::CalendarBook;
use crate::clock::Clock;
use crate::cron::Schedule;
use crate::error::{DatabaseProblem, Error, Result};
use crate::handler::{Executor, HandlerRegistry};
use crate::health::contact::ReapGate;
use crate::health::pacing::RETRY_CAP;
use crate::health::{Health, HealthLimits, LoopName, LoopPacer};
use crate::store::{ClaimedRun, NodeHealth, NodeInfo, RunResult, Store, TickReport};
use results::ResultBuffer;

pub use plan::{
    plan_tick, plan_tick_tallied, DueJob, NotRunReason, NotRunTally, PlannedRun, TickPlan,
};
pub use stats::{EngineStats, Histogram, HistogramSnapshot, LATENESS_BUCKETS};

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
    /// What this node deletes once it is past its age, and how often it looks.
    pub retention: retention::RetentionPolicy,
    /// Where HTTP handlers may connect (private networks refused or not).
    pub egress: crate::handler::EgressPolicy,
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
            retention: retention::RetentionPolicy::default(),
            egress: crate::handler::EgressPolicy::default(),
        }
    }
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
    /// Woken when runs were enqueued locally, a slot was freed or a result is waiting.
    dispatch_wake: Notify,
    /// Woken when a job was created or edited in this process.
    schedule_changed: Notify,
    /// Parsed schedules by (expression, zone): parsing is cheap but not free at 100k jobs.
    schedules: Mutex<HashMap<(String, String), Schedule>>,
    /// Parsed calendars, refreshed from their versions before each tick.
    calendars: Mutex<CalendarBook>,
    /// Results waiting to be recorded, kept while the database is away.
    results: ResultBuffer,
    /// Held while results are recorded, so that one writer at a time takes them from the
    /// buffer (a tokio mutex: held across the write); it keeps what the cycles remember to
    /// decide whether the next one records beside its claim.
    recording: tokio::sync::Mutex<SideBySide>,
    /// The count of database contact breaks when this node last renewed its leases: a larger
    /// count means the database was away since, and the leases are renewed before results are
    /// recorded or anything is claimed.
    renewed_after_breaks: AtomicU64,
    /// The resumption whose reaper grace was logged, so it is logged once.
    grace_logged: Mutex<Option<DateTime<Utc>>>,
    in_flight: tokio::sync::Mutex<JoinSet<()>>,
    /// Cancelled when the shutdown grace has passed: running handlers stop, runs are released.
    hard_stop: CancellationToken,
    /// The cancellation token of each run executing here, so that a run whose cancellation was
    /// requested (overlap `cancel_previous`) can be stopped. A std mutex: never held across an
    /// await.
    cancels: Mutex<HashMap<uuid::Uuid, CancellationToken>>,
    stats: EngineStats,
    health: Health,
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
        let slots = Arc::new(Semaphore::new(config.workers as usize));
        let health = Health::new(
            Arc::clone(&clock),
            HealthLimits::for_lease(config.lease_ttl, config.idle_recheck),
        );
        Engine {
            inner: Arc::new(Inner {
                store,
                executor: Executor::new()
                    .with_egress(config.egress)
                    .with_command_policy(config.command_policy.clone())
                    .with_clock(Arc::clone(&clock)),
                clock,
                registry,
                slots,
                dispatch_wake: Notify::new(),
                schedule_changed: Notify::new(),
                schedules: Mutex::new(HashMap::new()),
                calendars: Mutex::new(CalendarBook::default()),
                results: ResultBuffer::new(),
                recording: tokio::sync::Mutex::new(SideBySide::default()),
                renewed_after_breaks: AtomicU64::new(0),
                grace_logged: Mutex::new(None),
                in_flight: tokio::sync::Mutex::new(JoinSet::new()),
                hard_stop: CancellationToken::new(),
                cancels: Mutex::new(HashMap::new()),
                stats: EngineStats::default(),
                health,
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

    /// This node's health: database contact and loops. The notification worker reports into
    /// the same ([`crate::notify::Notifier::with_health`]).
    pub fn health(&self) -> &Health {
        &self.inner.health
    }

    /// Results that finished executing and wait to be recorded (while the database is away,
    /// they are kept).
    pub fn results_waiting(&self) -> usize {
        self.inner.results.len()
    }

    fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    /// What this node tells the `nodes` table about itself with its heartbeat: its `/healthz`
    /// verdict and problems, so that the console sees a node whose loops fail while it can
    /// still reach the database.
    fn node_health(&self) -> NodeHealth {
        let report = self.inner.health.report();
        NodeHealth {
            healthy: report.is_healthy(),
            problems: report
                .problems
                .iter()
                .map(|problem| format!("{}: {}", problem.component, problem.problem))
                .collect(),
            heartbeat_every_ms: u64::try_from(self.renew_period().as_millis()).unwrap_or(u64::MAX),
            results_waiting: self.results_waiting() as u64,
        }
    }

    /// Runs a database call, noting in the node's health what it says about the database.
    async fn db<T>(&self, call: impl std::future::Future<Output = Result<T>>) -> Result<T> {
        self.inner.health.observe(call).await
    }

    /// The interval of lease renewal and heartbeat: a third of the lease, so that two renewals
    /// may fail before a lease runs out.
    fn renew_period(&self) -> Duration {
        (self.inner.config.lease_ttl / 3).max(Duration::from_millis(100))
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
        self.refresh_calendars().await?;
        loop {
            // What the plans record as not run counts only once their transaction committed.
            let not_run = Mutex::new(NotRunTally::new());
            let plan = |due: &plan::DueJob| {
                let schedule = self.schedule_for(&due.schedule, &due.timezone);
                let rule = self.calendar_rule(due);
                let mut tally = not_run.lock().unwrap_or_else(|poison| poison.into_inner());
                plan_tick_tallied(due, schedule.as_ref(), rule.as_ref(), horizon, &mut tally)
            };
            // The rows record when the tick really ran, not the instant it looked ahead to.
            let now = self.now().min(horizon);
            let report = self
                .db(self.inner.store.enqueue_due(now, horizon, self.inner.config.tick_batch, &plan))
                .await?;
            self.inner
                .stats
                .add_not_run(&not_run.into_inner().unwrap_or_else(|poison| poison.into_inner()));
            total.jobs += report.jobs;
            total.enqueued += report.enqueued;
            total.recorded += report.recorded;
            // A catch-up over many batches is progress, not a stuck loop.
            self.inner.health.iteration_completed(LoopName::Tick);
            if report.jobs < u64::from(self.inner.config.tick_batch) {
                break;
            }
        }
        let stats = &self.inner.stats;
        stats.ticks.fetch_add(1, Ordering::Relaxed);
        stats.enqueued.fetch_add(total.enqueued, Ordering::Relaxed);
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

    /// Brings the parsed calendars up to date: one small read of every calendar's version, and
    /// a read and parse of those that changed.
    async fn refresh_calendars(&self) -> Result<()> {
        let versions = self.db(self.inner.store.calendar_versions()).await?;
        let stale = {
            let mut book = self.inner.calendars.lock().unwrap_or_else(|poison| poison.into_inner());
            book.stale(&versions)
        };
        for id in stale {
            let stored = match self.db(self.inner.store.calendar(id)).await {
                Ok(stored) => stored,
                // Removed between the two reads: the next tick forgets it.
                Err(crate::Error::NotFound { .. }) => continue,
                Err(error) => return Err(error),
            };
            let mut book = self.inner.calendars.lock().unwrap_or_else(|poison| poison.into_inner());
            if let Some(error) = book.insert(&stored) {
                warn!(calendar = %stored.name, %error, "stored calendar does not parse; it excludes nothing");
            }
        }
        Ok(())
    }

    /// The job's calendar rule, from the parsed calendars.
    fn calendar_rule(&self, due: &plan::DueJob) -> Option<crate::calendars::CalendarRule> {
        let book = self.inner.calendars.lock().unwrap_or_else(|poison| poison.into_inner());
        let (rule, missing) = book.rule(due.tenant_id, &due.policy);
        for name in missing {
            warn!(job = %due.job_id, calendar = %name, "job names a calendar that does not exist; it is empty");
        }
        rule
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
    /// [`Engine::record_results_once`] (or the dispatcher inside [`Engine::run`]).
    pub async fn dispatch_once(&self) -> Result<usize> {
        let limit = self.claim_limit();
        if limit == 0 {
            return Ok(0);
        }
        let now = self.now();
        let claimed = self
            .db(self.inner.store.claim(
                &self.inner.config.node_id,
                now,
                limit,
                self.inner.config.lease_ttl,
            ))
            .await?;
        Ok(self.start_claimed(claimed).await)
    }

    /// The dispatcher's step: records the waiting results and claims for the free slots in one
    /// transaction (or two at once, see [`Engine::record_and_dispatch`]), then starts the
    /// claimed runs; returns the number started. After the
    /// database was away, this node's leases are renewed first: its finished runs stay its own
    /// until their results are in, and nothing new is claimed before they are.
    pub async fn record_and_dispatch_once(&self) -> Result<usize> {
        Ok(self.record_and_dispatch_cycle().await?.started)
    }

    /// [`Engine::record_and_dispatch_once`], telling the dispatcher whether to claim again at
    /// once.
    async fn record_and_dispatch_cycle(&self) -> Result<Cycle> {
        let mut side_by_side = self.inner.recording.lock().await;
        self.renew_after_break().await?;
        let batch = self.inner.results.oldest(RESULT_BATCH);
        self.record_and_dispatch(&batch, &mut side_by_side).await
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

    /// Records `results` (the oldest waiting, taken off the buffer once recorded) and claims
    /// for the free slots in one transaction (either part may be empty), then starts the
    /// claimed runs. Runs due within [`EngineConfig::claim_ahead`] are
    /// claimed too and start on their instant.
    ///
    /// While the queue burns down (the last claim was full) on a store with concurrent writers
    /// ([`crate::store::RunQueue::records_beside_claims`]), the results are recorded in one
    /// transaction and the claim made in another, at the same time: on Postgres a cycle then
    /// lasts about as long as its longer half instead of both halves and a disk flush in turn.
    /// The claim may not see the rooms this recording frees (a run of an exclusive job whose
    /// previous run is being recorded, a tenant at its limit): it takes less, and the cycle
    /// tells the dispatcher to claim again at once, as one transaction; the next
    /// [`SIDE_BY_SIDE_PAUSE`] cycles then stay in one transaction each (a tenant at its limit
    /// would otherwise make every batch three transactions: the recording, a claim that sees
    /// no room, and the claim again). After a recording failed, the next cycle is one
    /// transaction again: while results cannot be written, nothing more is claimed (see
    /// `results.rs`).
    async fn record_and_dispatch(
        &self,
        results: &[RunResult],
        state: &mut SideBySide,
    ) -> Result<Cycle> {
        let limit = self.claim_limit();
        let config = &self.inner.config;
        let store = &self.inner.store;
        if limit == 0 {
            self.record(results).await?;
            self.inner.results.recorded(results.len());
            return Ok(Cycle::default());
        }
        let now = self.now();
        let ready_until = now + chrono_duration(config.claim_ahead);
        let claim = |results| {
            self.db(store.record_and_claim(
                results,
                &config.node_id,
                now,
                ready_until,
                limit,
                config.lease_ttl,
            ))
        };
        let side_by_side =
            state.take_turn() && !results.is_empty() && store.records_beside_claims().await;
        let (recorded, claimed) = if side_by_side {
            let (recorded, claimed) = tokio::join!(self.record(results), claim(&[]));
            if recorded.is_ok() {
                self.inner.results.recorded(results.len());
            }
            (recorded, claimed?.1)
        } else {
            let (accepted, claimed) = claim(results).await?;
            self.count_results(results, &accepted);
            self.inner.results.recorded(results.len());
            (Ok(()), claimed)
        };
        self.inner.stats.cycles.fetch_add(1, Ordering::Relaxed);
        if side_by_side {
            self.inner.stats.side_by_side_cycles.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.stats.claim_asked.fetch_add(u64::from(limit), Ordering::Relaxed);
        let full = claimed.len() == limit as usize;
        state.after_cycle(side_by_side, full, recorded.is_ok());
        let started = self.start_claimed(claimed).await;
        // Runs claimed are started whatever became of the results beside them; results not
        // recorded stay waiting, and the error makes the dispatcher back off.
        recorded?;
        Ok(Cycle { started, claim_again: side_by_side && !full })
    }

    /// If the database was away since this node last renewed its leases, renews them now.
    async fn renew_after_break(&self) -> Result<()> {
        let breaks = self.inner.health.breaks();
        if breaks == self.inner.renewed_after_breaks.load(Ordering::Relaxed) {
            return Ok(());
        }
        let config = &self.inner.config;
        let renewed = self
            .db(self.inner.store.renew_leases(
                &config.node_id,
                &self.held_runs(),
                self.now(),
                config.lease_ttl,
            ))
            .await?;
        self.inner.renewed_after_breaks.fetch_max(breaks, Ordering::Relaxed);
        if renewed > 0 {
            info!(renewed, "the database is back: renewed this node's leases before recording results or claiming");
        }
        Ok(())
    }

    /// Starts executing claimed runs, each holding a worker slot until it finishes.
    async fn start_claimed(&self, claimed: Vec<ClaimedRun>) -> usize {
        let started = claimed.len();
        self.inner.stats.claimed.fetch_add(started as u64, Ordering::Relaxed);
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
                    engine.inner.stats.running.fetch_add(1, Ordering::Relaxed);
                    let result = engine.execute_claimed(run).await;
                    engine.inner.stats.running.fetch_sub(1, Ordering::Relaxed);
                    if let Some(result) = result {
                        engine.inner.results.push(result);
                    }
                    // The slot is freed after the result is in the buffer: the buffer never
                    // holds more results than there are slots, plus the last claim's.
                    drop(permit);
                    engine.inner.dispatch_wake.notify_one();
                }
                .instrument(span),
            );
        }
        started
    }

    /// Records every result that finished executing so far. Returns how many. On failure the
    /// results stay waiting (and are recorded by the next call).
    pub async fn record_results_once(&self) -> Result<usize> {
        let mut recorded = 0;
        loop {
            let batch = self.record_waiting().await?;
            recorded += batch;
            if batch == 0 || self.inner.results.is_empty() {
                return Ok(recorded);
            }
        }
    }

    /// Records one batch of waiting results (renewing the leases first after a break),
    /// without claiming. Returns how many were recorded.
    async fn record_waiting(&self) -> Result<usize> {
        let _recording = self.inner.recording.lock().await;
        self.renew_after_break().await?;
        let batch = self.inner.results.oldest(RESULT_BATCH);
        self.record(&batch).await?;
        self.inner.results.recorded(batch.len());
        Ok(batch.len())
    }

    async fn record(&self, batch: &[RunResult]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let accepted = self.db(self.inner.store.complete(batch)).await?;
        self.count_results(batch, &accepted);
        Ok(())
    }

    fn count_results(&self, batch: &[RunResult], accepted: &[bool]) {
        let stats = &self.inner.stats;
        for (result, &accepted) in batch.iter().zip(accepted) {
            if !accepted {
                warn!(run_id = %result.run_id, "result discarded: this node's claim was superseded (fenced out)");
                stats.fenced_out.fetch_add(1, Ordering::Relaxed);
            } else if result.status == crate::run::RunStatus::Succeeded {
                stats.succeeded.fetch_add(1, Ordering::Relaxed);
            } else {
                stats.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Notes when a run started: scheduled runs count in the fire lateness histogram.
    fn observe_start(&self, run: &crate::run::Run, started: DateTime<Utc>) {
        if run.trigger == crate::run::Trigger::Schedule {
            let lateness = (started - run.not_before).to_std().unwrap_or(Duration::ZERO);
            self.inner.stats.fire_lateness.observe(lateness);
        }
    }

    /// Waits until every run started by this engine has finished executing (tests use this on
    /// virtual time; the results still need [`Engine::record_results_once`]).
    pub async fn wait_idle(&self) {
        let mut in_flight = self.inner.in_flight.lock().await;
        while in_flight.join_next().await.is_some() {}
    }

    /// Marks runs whose lease expired as lost and queues their next attempt, unless this node
    /// could not see the database lately: leases that expired while it was away are given a
    /// lease period after its reconnection (their owners were probably cut off too, and renew
    /// as soon as they reconnect). Returns the number recovered.
    pub async fn reap_once(&self) -> Result<usize> {
        let lease = self.inner.config.lease_ttl;
        let health = &self.inner.health;
        let mut now = self.now();
        let mut gate = health.reap_gate_at(now, lease);
        if gate == ReapGate::Broken && !health.stalled() {
            // The last calls failed: ask something harmless first. If the database answers,
            // contact resumes now, and the gate says how long the owners get.
            self.db(self.inner.store.next_lease_expiry()).await?;
            now = self.now();
            gate = health.reap_gate_at(now, lease);
        }
        match gate {
            ReapGate::Open => {}
            ReapGate::Grace { resumed_at, until } => {
                let mut logged =
                    self.inner.grace_logged.lock().unwrap_or_else(|poison| poison.into_inner());
                if *logged != Some(resumed_at) {
                    *logged = Some(resumed_at);
                    info!(
                        resumed_at = %resumed_at.to_rfc3339(),
                        until = %until.to_rfc3339(),
                        "the database was away from this node: leases that expired meanwhile get a lease period to be renewed before their runs are recovered"
                    );
                }
                return Ok(0);
            }
            ReapGate::Broken => return Ok(0),
        }
        let lost = self.db(self.inner.store.recover_expired(now)).await?;
        if !lost.is_empty() {
            for run in &lost {
                warn!(run_id = %run.id, job = %run.job, owner = ?run.lease_owner, "run lost: its node stopped renewing the lease; queued again");
            }
            self.inner.stats.recovered.fetch_add(lost.len() as u64, Ordering::Relaxed);
            self.inner.dispatch_wake.notify_one();
        }
        Ok(lost.len())
    }

    /// Renews this node's leases and heartbeat, and stops the runs whose cancellation was
    /// requested (overlap `cancel_previous`): they end `cancelled`.
    pub async fn maintain_once(&self) -> Result<()> {
        let now = self.now();
        let config = &self.inner.config;
        let store = &self.inner.store;
        let breaks = self.inner.health.breaks();
        self.db(store.renew_leases(&config.node_id, &self.held_runs(), now, config.lease_ttl))
            .await?;
        self.inner.renewed_after_breaks.fetch_max(breaks, Ordering::Relaxed);
        self.db(store.heartbeat(&config.node_id, now, &self.node_health())).await?;
        let requested = self.db(store.cancel_requested(&config.node_id)).await?;
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

    /// The runs whose leases this node keeps: those executing here and those whose results
    /// wait to be recorded. A run the database says this node owns but that is in neither (its
    /// claim's answer was lost) is left to expire and be recovered.
    fn held_runs(&self) -> Vec<uuid::Uuid> {
        let mut held: Vec<uuid::Uuid> = {
            let cancels = self.inner.cancels.lock().unwrap_or_else(|poison| poison.into_inner());
            cancels.keys().copied().collect()
        };
        held.extend(self.inner.results.run_ids());
        held
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
            // The first heartbeat reports it: at registration the loops have not run yet.
            health: None,
        };
        self.db(self.inner.store.register_node(&node)).await?;
        // Runs still leased to this id belong to a previous incarnation that died (a restart
        // reuses `--node-id`): they can never finish, so recover them now instead of renewing
        // their leases forever. (After a start while the database was away, the reaper's grace
        // applies to them like to every lease.)
        let orphaned =
            self.db(self.inner.store.expire_leases_of_node(&config.node_id, now)).await?;
        if orphaned > 0 {
            warn!(orphaned, "runs held by a previous incarnation of this node; recovering them");
            self.reap_once().await?;
        }
        Ok(())
    }

    async fn execute_claimed(&self, claimed: ClaimedRun) -> Option<RunResult> {
        execute::execute(self, claimed).await
    }

    /// Runs the engine until `shutdown` is cancelled, then stops claiming (once the cycle in
    /// flight, if any, has ended: the runs it claimed start), lets running work finish within
    /// the grace while recording its results, waits for the database (within the grace) if it
    /// is away, hands back what is left and marks the node stopped.
    ///
    /// It returns at the latest a short while ([`Engine::wrap_up`]) after the grace, or after
    /// the handlers it stopped then have ended (within the executor's kill grace), whatever the
    /// database does: every database call of the shutdown is given up then, even one on a
    /// connection that freezes (no answer, no close: a network partition, a stalled server),
    /// and the error says what was left undone.
    ///
    /// Every loop backs off exponentially while its step fails, logs a streak of failures in
    /// a few lines, and reports its iterations to [`Engine::health`].
    pub async fn run(&self, shutdown: CancellationToken) -> Result<()> {
        self.register().await?;
        info!(node = %self.inner.config.node_id, workers = self.inner.config.workers, "engine started");
        let mut loops = JoinSet::new();
        loops.spawn(self.clone().ticker_loop(shutdown.clone()));
        loops.spawn(self.clone().reaper_loop(shutdown.clone()));
        loops.spawn(self.clone().retention_loop(shutdown.clone()));
        if self.inner.config.execute {
            loops.spawn(self.clone().dispatcher_loop(shutdown.clone()));
        }
        // Leases are renewed until the last result is recorded: at shutdown this node still
        // owns the runs it is finishing.
        let renewing = CancellationToken::new();
        let maintenance = tokio::spawn(self.clone().maintenance_loop(renewing.clone()));
        let deadline = self.stop_loops(&mut loops, &shutdown).await;
        let finished = self.finish_work(deadline).await;
        renewing.cancel();
        let _ = maintenance.await;
        self.hand_back(deadline, finished?).await
    }

    /// How long after the shutdown grace (or after the handlers stopped at its end have ended)
    /// the last steps of the shutdown may take: those handlers' results, the hand-back and the
    /// node's stop. A database that answers needs
    /// milliseconds for them; one that does not must not keep the process from exiting (a
    /// systemd stop would end in SIGKILL, a console window would not close). A tenth of the
    /// grace, a second at least (3 s for `rota serve`'s 30 s, within the unit's 45 s stop
    /// timeout).
    fn wrap_up(&self) -> Duration {
        (self.inner.config.shutdown_grace / 10).max(Duration::from_secs(1))
    }

    /// A database call of the shutdown, given up at `until`: a frozen connection never
    /// answers, and the driver sets no limit of its own on a statement's reply. Giving up
    /// fails like a lost connection.
    async fn shutdown_call<T>(
        &self,
        until: tokio::time::Instant,
        call: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        match timeout_at(until, call).await {
            Ok(result) => result,
            Err(_) => Err(Error::Database {
                problem: DatabaseProblem::Connection,
                source: format!(
                    "the database did not answer in time for the shutdown to end within its grace ({} s)",
                    self.inner.config.shutdown_grace.as_secs()
                )
                .into(),
            }),
        }
    }

    /// Waits for `loops` to end at the shutdown; returns the end of the shutdown grace, which
    /// starts then. Loops end at once, except the dispatcher, which first finishes the cycle it
    /// is in (see [`Engine::dispatcher_loop`]); one still running at the end of the grace (a
    /// database that stalls) is aborted, its cycle dropped.
    async fn stop_loops(
        &self,
        loops: &mut JoinSet<Result<()>>,
        shutdown: &CancellationToken,
    ) -> tokio::time::Instant {
        let grace = self.inner.config.shutdown_grace;
        let mut deadline = None;
        loop {
            let joined = match deadline {
                None => tokio::select! {
                    () = shutdown.cancelled() => {
                        deadline = Some(tokio::time::Instant::now() + grace);
                        continue;
                    }
                    joined = loops.join_next() => joined,
                },
                Some(deadline) => match timeout_at(deadline, loops.join_next()).await {
                    Ok(joined) => joined,
                    Err(_) => {
                        self.abort_loops(loops).await;
                        return deadline;
                    }
                },
            };
            match joined {
                Some(Ok(Err(error))) => warn!(%error, "engine loop stopped with an error"),
                // A loop that panicked: its work stopped long before the shutdown; say so.
                Some(Err(failure)) if failure.is_panic() => {
                    error!(%failure, "engine loop panicked");
                }
                Some(_) => {}
                None => return deadline.unwrap_or_else(|| tokio::time::Instant::now() + grace),
            }
        }
    }

    /// At the end of the shutdown grace: aborts the loops still running (the dispatcher, its
    /// cycle waiting for a database that stalls).
    async fn abort_loops(&self, loops: &mut JoinSet<Result<()>>) {
        warn!(
            grace_s = self.inner.config.shutdown_grace.as_secs(),
            "shutdown grace passed with the dispatcher waiting for the database: its cycle is dropped, and runs it may still claim wait for their leases to expire"
        );
        loops.shutdown().await;
        self.inner.health.loop_stopped(LoopName::Dispatch);
    }

    /// At shutdown: lets running handlers finish within the grace, recording their results as
    /// they come, and keeps trying to record what waits until the grace ends (a result kept
    /// is an occurrence not executed again). After the grace, running handlers are stopped
    /// (their runs are handed back) and their results get one more attempt. Every write is
    /// given up at its deadline (see [`Engine::shutdown_call`]). Returns when the shutdown's
    /// last calls must end (see [`Engine::wrap_up`]); fails, saying how many results are not
    /// recorded, if results are still waiting then.
    async fn finish_work(&self, deadline: tokio::time::Instant) -> Result<tokio::time::Instant> {
        let grace = self.inner.config.shutdown_grace;
        let mut pacer = LoopPacer::new(LoopName::Shutdown, self.inner.health.clone(), RETRY_CAP);
        let mut retry_at: Option<tokio::time::Instant> = None;
        let mut last_error = None;
        let mut in_flight = self.inner.in_flight.lock().await;
        loop {
            while in_flight.try_join_next().is_some() {}
            let due = retry_at.is_none_or(|at| tokio::time::Instant::now() >= at);
            if due && !self.inner.results.is_empty() {
                match self.shutdown_call(deadline, self.record_waiting()).await {
                    Ok(_) => {
                        pacer.succeeded();
                        retry_at = None;
                        continue;
                    }
                    Err(error) => {
                        retry_at = Some(tokio::time::Instant::now() + pacer.failed(&error));
                        last_error = Some(error);
                    }
                }
            }
            if in_flight.is_empty() && self.inner.results.is_empty() {
                return Ok(deadline + self.wrap_up());
            }
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            let wake = retry_at.map_or(deadline, |at| at.min(deadline));
            tokio::select! {
                Some(_) = in_flight.join_next(), if !in_flight.is_empty() => {}
                () = self.inner.dispatch_wake.notified() => {}
                () = tokio::time::sleep_until(wake) => {}
            }
        }
        if !in_flight.is_empty() {
            warn!(
                grace_s = grace.as_secs(),
                "shutdown grace passed; stopping running handlers and handing their runs back"
            );
            self.inner.hard_stop.cancel();
            // Each ends within the executor's kill grace, a command after its SIGTERM's.
            while in_flight.join_next().await.is_some() {}
        }
        let wrap_up_end = tokio::time::Instant::now().max(deadline) + self.wrap_up();
        if !self.inner.results.is_empty() {
            match self.shutdown_call(wrap_up_end, self.record_results_once()).await {
                Ok(_) => return Ok(wrap_up_end),
                Err(error) => last_error = Some(error),
            }
        }
        let waiting = self.inner.results.len();
        if waiting == 0 {
            return Ok(wrap_up_end);
        }
        let cause = last_error.expect("results wait only after a failed write");
        error!(
            results = waiting,
            grace_s = grace.as_secs(),
            error = %cause,
            "the database did not answer within the shutdown grace: these finished runs are not recorded, and other nodes will run them again once their leases expire"
        );
        Err(left_undone(
            &format!(
                "{waiting} finished run(s) not recorded at shutdown: other nodes will run those occurrences again once their leases expire"
            ),
            &cause,
        ))
    }

    /// At shutdown, once every result is recorded: hands unfinished runs back to the queue and
    /// marks the node stopped, trying again until `deadline` (the end of the grace) if the
    /// database is away; a call in flight is given up at `wrap_up_end` (see
    /// [`Engine::wrap_up`]).
    async fn hand_back(
        &self,
        deadline: tokio::time::Instant,
        wrap_up_end: tokio::time::Instant,
    ) -> Result<()> {
        let node_id = &self.inner.config.node_id;
        let store = &self.inner.store;
        let released = self
            .retry_until(deadline, || {
                self.shutdown_call(wrap_up_end, self.db(store.release(node_id, self.now())))
            })
            .await
            .map_err(|cause| {
                let lease_s = self.inner.config.lease_ttl.as_secs();
                error!(error = %cause, lease_s, "the database did not answer within the shutdown grace: this node's unfinished runs are not handed back, and wait for their leases to expire");
                left_undone(
                    &format!("this node's unfinished runs not handed back at shutdown: they wait for their leases to expire (at most {lease_s} s) before another node runs them"),
                    &cause,
                )
            })?;
        if released > 0 {
            info!(released, "handed unfinished runs back to the queue");
        }
        self.retry_until(deadline, || {
            self.shutdown_call(wrap_up_end, self.db(store.mark_node_stopped(node_id, self.now())))
        })
        .await
        .map_err(|cause| {
            left_undone(
                "this node not marked stopped at shutdown: the console shows it silent rather than stopped",
                &cause,
            )
        })?;
        info!("engine stopped");
        Ok(())
    }

    /// Runs `step` until it succeeds, backing off after failures, as long as the next attempt
    /// would start before `deadline` (one attempt at least).
    async fn retry_until<T, F, Fut>(&self, deadline: tokio::time::Instant, mut step: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let health = &self.inner.health;
        let mut pacer = LoopPacer::new(LoopName::Shutdown, health.clone(), RETRY_CAP);
        loop {
            match step().await {
                Ok(value) => {
                    pacer.succeeded();
                    return Ok(value);
                }
                Err(error) => {
                    let delay = pacer.failed(&error);
                    if tokio::time::Instant::now() + delay > deadline {
                        return Err(error);
                    }
                    tokio::select! {
                        () = health.resumed() => {}
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
    }

    async fn ticker_loop(self, shutdown: CancellationToken) -> Result<()> {
        let health = self.inner.health.clone();
        let config = &self.inner.config;
        health.loop_started(LoopName::Tick, config.idle_recheck);
        let mut pacer = LoopPacer::new(LoopName::Tick, health.clone(), RETRY_CAP);
        let lookahead = chrono_duration(config.tick_lookahead);
        while !shutdown.is_cancelled() {
            let step = async {
                self.tick_until(self.now() + lookahead).await?;
                self.db(self.inner.store.next_due_at()).await
            };
            let sleep = tokio::select! {
                () = shutdown.cancelled() => break,
                step = step => match step {
                    Ok(next_due) => {
                        pacer.succeeded();
                        let now = self.now();
                        let recheck = now + chrono_duration(config.idle_recheck);
                        let wake_at = next_due.map_or(recheck, |next| (next - lookahead).min(recheck));
                        (wake_at - now).to_std().unwrap_or(Duration::ZERO)
                    }
                    Err(error) => pacer.failed(&error),
                },
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.inner.schedule_changed.notified() => {}
                () = health.resumed() => {}
                () = tokio::time::sleep(sleep) => {}
            }
        }
        health.loop_stopped(LoopName::Tick);
        Ok(())
    }

    /// Records what finished and claims for free slots, in one transaction whenever both have
    /// work: one commit (on Postgres, one disk flush) per cycle instead of two. A failed write
    /// keeps its results and is retried with backoff: losing a result would run the
    /// occurrence again later.
    ///
    /// A shutdown does not interrupt a cycle: it ends the loop after it. A cycle dropped halfway
    /// may still commit (SQLite's hot-path thread runs a cycle it was sent to the end; on
    /// Postgres a COMMIT already sent lands), and the runs it claimed would then be `running`
    /// on this node with nobody to start them, or to hand them back: the hand-back's `RELEASE`
    /// may already have passed them (on Postgres it passes over rows still `queued` in its
    /// snapshot), leaving them to the reaper once their leases expire. [`Engine::run`] bounds
    /// the wait by the shutdown grace.
    async fn dispatcher_loop(self, shutdown: CancellationToken) -> Result<()> {
        let health = self.inner.health.clone();
        health.loop_started(LoopName::Dispatch, self.dispatch_recheck());
        let mut pacer = LoopPacer::new(LoopName::Dispatch, health.clone(), RETRY_CAP);
        // Claims in a row that took nothing while a run was claimable (`next_dispatch_sleep`).
        let mut contended = 0;
        while !shutdown.is_cancelled() {
            match self.record_and_dispatch_cycle().await {
                Ok(Cycle { started, claim_again }) => {
                    pacer.succeeded();
                    if started > 0 {
                        contended = 0;
                    }
                    // A full claim means more may be ready: claim again at once if a slot is
                    // free; results that arrived meanwhile are recorded in the same
                    // transaction. So does a claim that could not see the rooms recorded
                    // beside it.
                    let more =
                        (started > 0 || claim_again) && self.inner.slots.available_permits() > 0;
                    if more || !self.inner.results.is_empty() {
                        self.gather_results().await;
                        continue;
                    }
                    // Every slot busy: nothing can be claimed before a run ends, and its end
                    // wakes this loop (the recheck bounds the wait all the same). No probe for
                    // the next ready run, which costs a read per cycle at full load.
                    let sleep = if self.inner.slots.available_permits() == 0 {
                        self.dispatch_recheck()
                    } else {
                        self.next_dispatch_sleep(&mut contended).await
                    };
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = self.inner.dispatch_wake.notified() => self.gather_results().await,
                        () = tokio::time::sleep(sleep) => {}
                    }
                }
                Err(error) => {
                    let delay = pacer.failed(&error);
                    tokio::select! {
                        () = shutdown.cancelled() => break,
                        () = health.resumed() => {}
                        () = tokio::time::sleep(delay) => {}
                    }
                }
            }
        }
        health.loop_stopped(LoopName::Dispatch);
        Ok(())
    }

    /// Lets runs that are about to end (in-process handlers end within microseconds) put
    /// their results in the buffer before the dispatcher takes it: it yields to the runtime
    /// as long as each turn brought new results, at most [`GATHER_TURNS`] times. Without it,
    /// the first result to arrive wakes the dispatcher, which records it alone and claims a
    /// single run, and every cycle (a commit) carries a few runs instead of a slot's worth.
    /// No timer: a long-running handler's slot costs one turn.
    async fn gather_results(&self) {
        let mut waiting = self.inner.results.len();
        for _ in 0..GATHER_TURNS {
            // Slots are taken when a run is spawned and freed once its result is waiting.
            let executing =
                self.inner.config.workers as usize - self.inner.slots.available_permits();
            if executing == 0 {
                return;
            }
            tokio::task::yield_now().await;
            let now_waiting = self.inner.results.len();
            if now_waiting == waiting {
                return;
            }
            waiting = now_waiting;
        }
    }

    /// The dispatcher's longest idle sleep: it looks for runs queued by other nodes this often.
    fn dispatch_recheck(&self) -> Duration {
        self.inner.config.idle_recheck.min(Duration::from_millis(250))
    }

    /// Until the earliest queued run may be claimed (its `not_before` less the claim-ahead),
    /// bounded by the recheck (runs queued by other nodes are found then). `contended` counts
    /// the claims in a row that took nothing while a run was claimable (see below); the
    /// dispatcher resets it when a claim starts runs.
    async fn next_dispatch_sleep(&self, contended: &mut u32) -> Duration {
        let recheck = self.dispatch_recheck();
        let now = self.now();
        let horizon = now + chrono_duration(self.inner.config.claim_ahead);
        match self.db(self.inner.store.next_ready_at()).await {
            // A run is ready, yet the claim took nothing. Either every ready run waits for a
            // limit or for a running run of its job (a local completion wakes the dispatcher,
            // other nodes' within the recheck), or another node's claim held the tenants' rows
            // (`SKIP LOCKED` on Postgres) for the few milliseconds until its commit. Sleeping
            // the recheck then idled the node: with four engines burning down one queue, each
            // spent a good part of the burn-down asleep (about 35 such sleeps in 1.6 s). So when a
            // run is claimable the dispatcher claims again soon, backing off (doubling up to the
            // recheck) while claims keep coming back empty, so that a tenant row held for long
            // (an operator's open transaction) costs a few claims, not a busy loop.
            Ok(Some(ready)) if ready <= horizon => {
                match self.db(self.inner.store.claimable_now(now, horizon)).await {
                    Ok(true) => {
                        let backoff = CONTENDED_RETRY.saturating_mul(1 << (*contended).min(16));
                        *contended = contended.saturating_add(1);
                        backoff.min(recheck)
                    }
                    _ => recheck,
                }
            }
            Ok(Some(ready)) => (ready - horizon).to_std().unwrap_or(Duration::ZERO).min(recheck),
            _ => recheck,
        }
    }

    /// Renews leases and the heartbeat every renewal period until `until` is cancelled (after
    /// the last result is recorded at shutdown). After a failure it retries within a renewal
    /// period at most, and at once when the database answers another loop again.
    async fn maintenance_loop(self, until: CancellationToken) {
        let health = self.inner.health.clone();
        let period = self.renew_period();
        health.loop_started(LoopName::Maintain, period);
        let mut pacer = LoopPacer::new(LoopName::Maintain, health.clone(), RETRY_CAP.min(period));
        while !until.is_cancelled() {
            let delay = tokio::select! {
                () = until.cancelled() => break,
                step = self.maintain_once() => match step {
                    Ok(()) => {
                        pacer.succeeded();
                        period
                    }
                    Err(error) => pacer.failed(&error),
                },
            };
            tokio::select! {
                () = until.cancelled() => break,
                () = health.resumed() => {}
                () = tokio::time::sleep(delay) => {}
            }
        }
        health.loop_stopped(LoopName::Maintain);
    }

    /// Recovers expired leases every renewal period, or sooner when some lease (a dead
    /// node's: this node renews its own before they run out) expires first, so its runs are
    /// recovered within moments of the expiry.
    async fn reaper_loop(self, shutdown: CancellationToken) -> Result<()> {
        let health = self.inner.health.clone();
        let period = self.renew_period();
        health.loop_started(LoopName::Reap, period);
        let mut pacer = LoopPacer::new(LoopName::Reap, health.clone(), RETRY_CAP);
        while !shutdown.is_cancelled() {
            let step = async {
                self.reap_once().await?;
                self.next_reap_sleep(period).await
            };
            let delay = tokio::select! {
                () = shutdown.cancelled() => break,
                step = step => match step {
                    Ok(sleep) => {
                        pacer.succeeded();
                        sleep
                    }
                    Err(error) => pacer.failed(&error),
                },
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(delay) => {}
            }
        }
        health.loop_stopped(LoopName::Reap);
        Ok(())
    }

    /// Until the earliest lease expiry (or the end of the reaper's grace), within `period`.
    async fn next_reap_sleep(&self, period: Duration) -> Result<Duration> {
        let until = |at: DateTime<Utc>| {
            // Just past the instant: recovery takes leases with `lease_expires_at < now`.
            let until = at + chrono::Duration::milliseconds(5) - self.now();
            until.to_std().unwrap_or(Duration::ZERO).clamp(Duration::from_millis(20), period)
        };
        let lease = self.inner.config.lease_ttl;
        if let ReapGate::Grace { until: grace_end, .. } =
            self.inner.health.reap_gate_at(self.now(), lease)
        {
            return Ok(until(grace_end));
        }
        Ok(match self.db(self.inner.store.next_lease_expiry()).await? {
            Some(expiry) => until(expiry),
            None => period,
        })
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

/// Cycles that stay in one transaction after a claim made beside a recording came back short
/// (see `Engine::record_and_dispatch`).
const SIDE_BY_SIDE_PAUSE: u32 = 8;

/// What the dispatcher's cycles remember to decide whether the next one records its results
/// beside its claim (see `Engine::record_and_dispatch`).
#[derive(Debug, Default)]
struct SideBySide {
    /// The last claim took as many runs as it could, and the results beside it were recorded:
    /// the queue is burning down.
    last_claim_full: bool,
    /// Cycles left in one transaction each, after a claim beside a recording came back short.
    paused: u32,
}

impl SideBySide {
    /// Whether this cycle may record beside its claim; a paused cycle counts down.
    fn take_turn(&mut self) -> bool {
        let full = std::mem::take(&mut self.last_claim_full);
        if self.paused > 0 {
            self.paused -= 1;
            return false;
        }
        full
    }

    fn after_cycle(&mut self, side_by_side: bool, full: bool, recorded: bool) {
        self.last_claim_full = full && recorded;
        if side_by_side && !full {
            self.paused = SIDE_BY_SIDE_PAUSE;
        }
    }
}

/// What a record-and-claim cycle did.
#[derive(Debug, Default, Clone, Copy)]
struct Cycle {
    /// Runs claimed and started.
    started: usize,
    /// The claim ran beside the recording of results, could not see the rooms they freed, and
    /// took less than it asked for: claim again at once.
    claim_again: bool,
}

/// How many times the dispatcher yields, at most, for results about to arrive
/// ([`Engine::gather_results`]).
const GATHER_TURNS: usize = 16;

/// The dispatcher's first wait before claiming again after a claim that took nothing while a
/// run was claimable: another node's claim holds the tenants until its commit, a few
/// milliseconds (see `next_dispatch_sleep`).
const CONTENDED_RETRY: Duration = Duration::from_millis(2);

/// The error of a shutdown that left `undone` (what, and what follows from it) because of
/// `cause`, the database's last error or its silence.
fn left_undone(undone: &str, cause: &Error) -> Error {
    Error::Database {
        problem: cause.database_problem().unwrap_or(DatabaseProblem::Other),
        source: format!("{undone} ({cause})").into(),
    }
}

pub(crate) fn chrono_duration(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "unknown".to_owned())
}
