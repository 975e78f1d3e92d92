//! Retention: a node deletes finished runs and settled notifications past their age, so that a
//! database that runs for years stays the size of its retention window. Every node prunes (the
//! deletes are batched and idempotent, so two nodes pruning at once only share the work);
//! each job's latest runs are always kept, whatever their age, so a rarely running job keeps
//! its history.

use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tracing::info;

use super::{Engine, RETRY_CAP};
use crate::api::PRUNE_BATCH;
use crate::error::{Error, Result};
use crate::health::{LoopName, LoopPacer};
use crate::store::Store;

/// What a node deletes, and how often it looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Finished runs scheduled longer ago than this are deleted; `None` keeps every run.
    pub runs_older_than: Option<Duration>,
    /// However old, this many of each job's most recent runs stay.
    pub keep_last_per_job: u32,
    /// Notification events settled (delivered or given up on) longer ago than this, and their
    /// delivery log, are deleted; `None` keeps them.
    pub notifications_older_than: Option<Duration>,
    /// How often the node prunes (the first pass is one period after start).
    pub every: Duration,
}

/// 90 days, like `rota runs prune`'s example; a few pages of every job's history.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(90 * 86_400);
pub const DEFAULT_KEEP_LAST_PER_JOB: u32 = 100;
pub const DEFAULT_RETENTION_EVERY: Duration = Duration::from_secs(3_600);
/// Shorter retention than this would delete runs a person is still looking at.
pub const MIN_RETENTION: Duration = Duration::from_secs(60);
const MIN_RETENTION_EVERY: Duration = Duration::from_secs(1);

impl Default for RetentionPolicy {
    fn default() -> Self {
        RetentionPolicy {
            runs_older_than: Some(DEFAULT_RETENTION),
            keep_last_per_job: DEFAULT_KEEP_LAST_PER_JOB,
            notifications_older_than: Some(DEFAULT_RETENTION),
            every: DEFAULT_RETENTION_EVERY,
        }
    }
}

impl RetentionPolicy {
    /// Keeps everything (the engine never deletes).
    pub const KEEP_ALL: RetentionPolicy = RetentionPolicy {
        runs_older_than: None,
        keep_last_per_job: DEFAULT_KEEP_LAST_PER_JOB,
        notifications_older_than: None,
        every: DEFAULT_RETENTION_EVERY,
    };

    fn keeps_all(&self) -> bool {
        self.runs_older_than.is_none() && self.notifications_older_than.is_none()
    }

    /// Each age is at least [`MIN_RETENTION`], the period at least a second.
    pub fn validate(&self) -> Result<()> {
        for (field, age) in [
            ("keep_runs", self.runs_older_than),
            ("keep_notifications", self.notifications_older_than),
        ] {
            if let Some(age) = age.filter(|age| *age < MIN_RETENTION) {
                return Err(Error::invalid(
                    field,
                    format!("{} s", age.as_secs()),
                    format!("too short; allowed at least {} s, or off", MIN_RETENTION.as_secs()),
                ));
            }
        }
        if self.every < MIN_RETENTION_EVERY {
            return Err(Error::invalid(
                "retention_every",
                format!("{} ms", self.every.as_millis()),
                "too short; allowed at least 1 s",
            ));
        }
        Ok(())
    }
}

/// What one pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub runs: u64,
    pub events: u64,
    pub deliveries: u64,
    /// Whether the pass vacuumed the tables (only where the database does not by itself).
    pub reclaimed: bool,
}

fn age(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX)
}

impl<S: Store> Engine<S> {
    /// Deletes what the retention policy no longer keeps (see [`RetentionPolicy`]).
    pub async fn prune_once(&self) -> Result<Pruned> {
        let policy = self.inner.config.retention;
        let now = self.now();
        let store = &self.inner.store;
        let mut pruned = Pruned::default();
        if let Some(older_than) = policy.runs_older_than {
            let before = now - age(older_than);
            pruned.runs =
                self.db(store.prune_runs(before, policy.keep_last_per_job, PRUNE_BATCH)).await?;
        }
        if let Some(older_than) = policy.notifications_older_than {
            let before = now - age(older_than);
            (pruned.events, pruned.deliveries) =
                self.db(store.prune_notifications(before, PRUNE_BATCH)).await?;
        }
        // Where the database does not vacuum by itself, deleted rows would keep their space for
        // ever: the pass reclaims it.
        pruned.reclaimed = self.db(store.reclaim_space()).await?;
        if pruned.reclaimed {
            info!("retention: vacuumed the tables runs churn (the database's autovacuum is off)");
        }
        if pruned.runs + pruned.events + pruned.deliveries > 0 {
            info!(
                runs = pruned.runs,
                events = pruned.events,
                deliveries = pruned.deliveries,
                "retention: deleted what is past its age"
            );
        }
        Ok(pruned)
    }

    /// Prunes every [`RetentionPolicy::every`] until `shutdown`; nothing when it keeps all.
    pub(super) async fn retention_loop(self, shutdown: CancellationToken) -> Result<()> {
        let policy = self.inner.config.retention;
        if policy.keeps_all() {
            return Ok(());
        }
        let health = self.inner.health.clone();
        // A pass may take a while on a large backlog: it counts as stuck only after two periods.
        health.loop_started(LoopName::Retention, policy.every * 2);
        let mut pacer = LoopPacer::new(LoopName::Retention, health.clone(), RETRY_CAP);
        let mut delay = policy.every;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(delay) => {}
            }
            delay = tokio::select! {
                () = shutdown.cancelled() => break,
                pass = self.prune_once() => match pass {
                    Ok(_) => {
                        pacer.succeeded();
                        policy.every
                    }
                    Err(error) => pacer.failed(&error).min(policy.every),
                },
            };
        }
        health.loop_stopped(LoopName::Retention);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_shorter_than_a_minute_are_refused_naming_the_field() {
        assert!(RetentionPolicy::default().validate().is_ok());
        assert!(RetentionPolicy::KEEP_ALL.validate().is_ok());
        let short = RetentionPolicy {
            runs_older_than: Some(Duration::from_secs(5)),
            ..RetentionPolicy::default()
        };
        let error = short.validate().unwrap_err().to_string();
        assert!(error.contains("keep_runs") && error.contains("5 s"), "{error}");
        let fast =
            RetentionPolicy { every: Duration::from_millis(10), ..RetentionPolicy::default() };
        assert!(fast.validate().unwrap_err().to_string().contains("retention_every"));
    }
}
