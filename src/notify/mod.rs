//! Notifications: the tenant hears about it once. A delivery worker drains the outbox (events
//! written in the same transaction as the change they report: `job.auto_disabled`,
//! `job.re_enabled`, and for tenants that opted in `run.failed` and `tenant.throttled`) to each
//! tenant's channels: a signed webhook ([`webhook`]) and an email over SMTP ([`email`]).
//!
//! Delivery is at least once. A node claims due events like runs (Postgres `FOR UPDATE SKIP
//! LOCKED`, SQLite's single writer), so two workers never hold the same event; the claim counts
//! an attempt and keeps the event until a lease ends, so an event whose worker died is
//! delivered again after the lease. A failed attempt is retried after an exponential backoff
//! ([`RetryPlan`]), channels that got the event are not sent it again, and every attempt is
//! logged (`deliveries`, `rota notifications list`). The event's id (the outbox row's) is the
//! same on every attempt: receivers deduplicate with it.
//!
//! [`Notifier::deliver_once`] is one step, called by tests on virtual time; [`Notifier::run`]
//! loops over it. `rota serve` and the desktop app's local engine start it next to the engine.
//!
//! Architecture invariant: like the engine, this module never imports `sqlx`.

mod delivery;
pub mod email;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

pub use delivery::RetryPlan;
pub use email::{SmtpConfig, SmtpPassword, SmtpTls};

pub use crate::event::{
    Channel, ClaimedEvent, Delivery, DeliveryFilter, DeliveryRecord, DeliveryStatus, EventClaim,
    EventOutcome,
};

use crate::clock::Clock;
use crate::error::Result;
use crate::handler::{EgressPolicy, FollowRedirects};
use crate::health::pacing::RETRY_CAP;
use crate::health::{Health, HealthLimits, LoopName, LoopPacer};
use crate::store::Store;

/// How a node delivers notifications.
#[derive(Debug, Clone)]
pub struct NotifyConfig {
    /// Owns claims (the engine's node id will do).
    pub node_id: String,
    /// Events claimed (and delivered concurrently) per step.
    pub batch: u32,
    /// How long a claimed event stays this node's: longer than delivering a batch can take (the
    /// webhook and SMTP timeouts), so that only a dead node's events are taken over.
    pub lease: Duration,
    /// How often an idle worker looks for due events.
    pub poll: Duration,
    pub retry: RetryPlan,
    /// Per webhook request.
    pub http_timeout: Duration,
    /// Without it, emails fail with a message saying so (and are retried: another node may
    /// have a server).
    pub smtp: Option<SmtpConfig>,
    /// Where webhooks may go (the daemon's `--deny-private-networks`).
    pub egress: EgressPolicy,
}

impl NotifyConfig {
    pub fn new(node_id: impl Into<String>) -> Self {
        NotifyConfig {
            node_id: node_id.into(),
            batch: 16,
            lease: Duration::from_secs(120),
            poll: Duration::from_secs(1),
            retry: RetryPlan::default(),
            http_timeout: Duration::from_secs(10),
            smtp: None,
            egress: EgressPolicy::default(),
        }
    }
}

/// What one step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Events claimed.
    pub claimed: usize,
    /// Events that every channel now has.
    pub delivered: usize,
    /// Events attempted again later.
    pub retrying: usize,
    /// Events given up on.
    pub failed: usize,
}

/// The delivery worker of one node. Cheap to clone.
#[derive(Clone)]
pub struct Notifier<S: Store> {
    inner: Arc<Inner<S>>,
    /// Where its loop and its database calls are reported: its own, or the engine's
    /// ([`Notifier::with_health`]).
    health: Health,
}

struct Inner<S: Store> {
    store: S,
    clock: Arc<dyn Clock>,
    config: NotifyConfig,
    http: reqwest::Client,
    mailer: Option<email::Mailer>,
}

impl<S: Store> Notifier<S> {
    /// A worker; fails if the SMTP configuration is invalid (the sender's address, a password
    /// without a user).
    pub fn new(store: S, clock: Arc<dyn Clock>, config: NotifyConfig) -> Result<Self> {
        let mailer = config.smtp.as_ref().map(email::Mailer::new).transpose()?;
        // Webhooks never follow redirects: the signature is for the URL the tenant set.
        let http = config.egress.client(FollowRedirects::None);
        let health = Health::new(Arc::clone(&clock), HealthLimits::default());
        Ok(Notifier { inner: Arc::new(Inner { store, clock, config, http, mailer }), health })
    }

    /// The worker, reporting its loop and its database calls to `health` (the engine's, so
    /// that one `/healthz` covers the node).
    pub fn with_health(self, health: Health) -> Self {
        Notifier { health, ..self }
    }

    pub fn config(&self) -> &NotifyConfig {
        &self.inner.config
    }

    /// Claims the due events and delivers each to its tenant's channels (concurrently), then
    /// records the attempts and what becomes of each event.
    pub async fn deliver_once(&self) -> Result<DeliveryReport> {
        let config = &self.inner.config;
        let now = self.inner.clock.now();
        let claimed = self
            .health
            .observe(self.inner.store.claim_events(
                &config.node_id,
                now,
                config.batch,
                config.lease,
            ))
            .await?;
        let mut report = DeliveryReport { claimed: claimed.len(), ..DeliveryReport::default() };
        let outcomes =
            futures::future::join_all(claimed.iter().map(|event| self.deliver(event))).await;
        for outcome in outcomes {
            match outcome? {
                EventOutcome::Delivered => report.delivered += 1,
                EventOutcome::Retry { .. } => report.retrying += 1,
                EventOutcome::GaveUp => report.failed += 1,
            }
        }
        Ok(report)
    }

    /// Delivers one claimed event to every channel that does not have it yet and reports.
    async fn deliver(&self, claimed: &ClaimedEvent) -> Result<EventOutcome> {
        let config = &self.inner.config;
        let mut records = Vec::new();
        if let Some(url) = &claimed.webhook_url {
            if !claimed.delivered.contains(&Channel::Webhook) {
                let started = tokio::time::Instant::now();
                let now = self.inner.clock.now();
                let result = webhook::post(
                    &self.inner.http,
                    &config.egress,
                    url,
                    claimed,
                    now,
                    config.http_timeout,
                )
                .await;
                records.push(self.record(
                    Channel::Webhook,
                    webhook::target(url),
                    started,
                    result.http_status,
                    None,
                    result.error,
                ));
            }
        }
        if let Some(address) = &claimed.notify_email {
            if !claimed.delivered.contains(&Channel::Email) {
                let started = tokio::time::Instant::now();
                let (reply, error) = match &self.inner.mailer {
                    Some(mailer) => {
                        let result = mailer.send(address, claimed).await;
                        (result.reply, result.error)
                    }
                    None => (
                        None,
                        Some(format!(
                            "no SMTP server is configured on node {} (rota serve --smtp-host)",
                            config.node_id
                        )),
                    ),
                };
                records.push(self.record(
                    Channel::Email,
                    address.clone(),
                    started,
                    None,
                    reply,
                    error,
                ));
            }
        }
        let finished = self.inner.clock.now();
        let outcome = if records.iter().all(|record| record.error.is_none()) {
            EventOutcome::Delivered
        } else {
            config.retry.after_failure(claimed.attempt, finished)
        };
        for record in records.iter_mut().filter(|record| record.error.is_some()) {
            match outcome {
                EventOutcome::Retry { at } => {
                    record.status = DeliveryStatus::Retrying;
                    record.next_attempt_at = Some(at);
                }
                _ => record.status = DeliveryStatus::Failed,
            }
        }
        for record in &records {
            match record.status {
                DeliveryStatus::Delivered => {
                    info!(event = %claimed.event.id, kind = %claimed.event.event.kind(), tenant = %claimed.tenant, channel = %record.channel, attempt = claimed.attempt, "notification delivered");
                }
                DeliveryStatus::Retrying | DeliveryStatus::Failed => {
                    warn!(event = %claimed.event.id, kind = %claimed.event.event.kind(), tenant = %claimed.tenant, channel = %record.channel, attempt = claimed.attempt, status = %record.status, error = record.error.as_deref().unwrap_or(""), "notification not delivered");
                }
            }
        }
        let claim = claimed.claim(&config.node_id);
        let kept = self
            .health
            .observe(self.inner.store.finish_event(&claim, &records, outcome, finished))
            .await?;
        if !kept {
            warn!(event = %claimed.event.id, "the event's claim was taken over (its lease ran out); the other node reports it");
        }
        Ok(outcome)
    }

    fn record(
        &self,
        channel: Channel,
        target: String,
        started: tokio::time::Instant,
        http_status: Option<u16>,
        smtp_reply: Option<String>,
        error: Option<String>,
    ) -> DeliveryRecord {
        DeliveryRecord {
            channel,
            target,
            status: DeliveryStatus::Delivered,
            http_status,
            smtp_reply,
            error,
            at: self.inner.clock.now(),
            duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
            next_attempt_at: None,
        }
    }

    /// Delivers until `shutdown` is cancelled: a full batch is followed at once by the next,
    /// otherwise the worker looks again after [`NotifyConfig::poll`]. While steps fail it backs
    /// off exponentially and logs the streak in a few lines.
    pub async fn run(&self, shutdown: CancellationToken) -> Result<()> {
        let config = &self.inner.config;
        info!(node = %config.node_id, smtp = self.inner.mailer.is_some(), "notification worker started");
        // An iteration may wait for webhooks and emails (each bounded by its timeout).
        self.health.loop_started(LoopName::Outbox, config.poll + config.http_timeout * 2);
        let mut pacer = LoopPacer::new(LoopName::Outbox, self.health.clone(), RETRY_CAP);
        while !shutdown.is_cancelled() {
            // A step in progress is not interrupted by shutdown: its deliveries are being made
            // and are recorded when they end.
            let delay = match self.deliver_once().await {
                Ok(report) => {
                    pacer.succeeded();
                    if report.claimed > 0 {
                        debug!(?report, "notifications delivered");
                    }
                    if report.claimed >= config.batch as usize {
                        continue;
                    }
                    config.poll
                }
                Err(error) => pacer.failed(&error),
            };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.health.resumed() => {}
                () = tokio::time::sleep(delay) => {}
            }
        }
        self.health.loop_stopped(LoopName::Outbox);
        info!("notification worker stopped");
        Ok(())
    }
}
