//! Executing one claimed run: resolve its handler, build the envelope, run it under the job's
//! timeout, and turn the outcome into a result to record.

use std::time::Duration;

use tracing::{info, warn};

use super::Engine;
use crate::handler::{Envelope, HandlerSpec, Outcome, OutcomeStatus, ResolvedSpec};
use crate::run::RunStatus;
use crate::store::{ClaimedRun, RunResult, Store};

/// Waits `early`, the time until a run claimed ahead may start: on the wall clock with the
/// precise timer (`clock::sleep_precisely`), on a virtual clock with tokio's.
async fn wait_for_instant<S: Store>(engine: &Engine<S>, early: Duration) {
    if engine.clock().is_wall_clock() {
        crate::clock::sleep_precisely(early).await;
    } else {
        tokio::time::sleep(early).await;
    }
}

/// Runs `claimed` and returns the result to record, or `None` when the run was interrupted by
/// shutdown: it is then handed back to the queue instead of being recorded as cancelled.
pub(super) async fn execute<S: Store>(
    engine: &Engine<S>,
    claimed: ClaimedRun,
) -> Option<RunResult> {
    let run = &claimed.run;
    // A test run has no job: its envelope names the run itself as the job, so its
    // `Idempotency-Key` is its own and never a saved job's.
    let job_id = run.job_id.unwrap_or(run.id);
    let envelope = Envelope {
        run_id: run.id,
        job_id,
        job: run.job.clone(),
        tenant_id: run.tenant_id,
        tenant: run.tenant.clone(),
        scheduled_for: run.scheduled_at,
        attempt: run.attempt,
        trigger: run.trigger,
        payload: run.payload.clone().unwrap_or_else(|| claimed.job_payload.clone()),
    };
    let cancel = engine.register_run(run.id);
    // Claimed ahead of its instant (`EngineConfig::claim_ahead`): it starts on it, never early.
    let early = (run.not_before - engine.clock().now()).to_std().unwrap_or(Duration::ZERO);
    let cancelled_while_waiting = !early.is_zero()
        && tokio::select! {
            () = wait_for_instant(engine, early) => false,
            () = cancel.cancelled() => true,
        };
    let started = engine.clock().now();
    if !cancelled_while_waiting {
        engine.observe_start(run, started);
    }
    let outcome = if cancelled_while_waiting {
        Outcome::new(
            OutcomeStatus::Cancelled,
            String::new(),
            Some("cancelled before it started".into()),
        )
    } else {
        // Reading a stored handler's definition waits for the database: a stop must not wait
        // for it (a frozen connection never answers).
        let resolved = tokio::select! {
            resolved = resolve(engine, &claimed.handler) => Some(resolved),
            () = cancel.cancelled() => None,
        };
        match resolved {
            None => Outcome::new(
                OutcomeStatus::Cancelled,
                String::new(),
                Some("cancelled before it started".into()),
            ),
            Some(Ok(spec)) => {
                engine
                    .executor()
                    .execute_in(&spec, &envelope, &claimed.context, claimed.timeout, cancel)
                    .await
            }
            Some(Err(message)) => Outcome::failed(message),
        }
    };
    engine.unregister_run(run.id);
    if outcome.status == OutcomeStatus::Cancelled && engine.hard_stop().is_cancelled() {
        return None;
    }
    let finished = engine.clock().now();
    let status = match outcome.status {
        OutcomeStatus::Succeeded => RunStatus::Succeeded,
        OutcomeStatus::Failed => RunStatus::Failed,
        OutcomeStatus::TimedOut => RunStatus::TimedOut,
        OutcomeStatus::Cancelled => RunStatus::Cancelled,
    };
    if status == RunStatus::Succeeded {
        info!(
            duration_ms = outcome.duration.as_millis() as u64,
            http_status = outcome.http_status,
            exit_code = outcome.exit_code,
            "run succeeded"
        );
    } else {
        warn!(
            %status,
            duration_ms = outcome.duration.as_millis() as u64,
            http_status = outcome.http_status,
            exit_code = outcome.exit_code,
            error = outcome.error.as_deref().unwrap_or(""),
            "run did not succeed"
        );
    }
    let finished_at = finished.max(started);
    // A failed or timed-out attempt with attempts left is followed by the next one after the
    // backoff; it waits queued, holding no slot. (Cancelled runs are never retried.)
    let retry_at = match status {
        RunStatus::Failed | RunStatus::TimedOut => claimed
            .retry
            .next_delay(run.attempt, job_id, run.scheduled_at)
            .map(|delay| finished_at + super::chrono_duration(delay)),
        _ => None,
    };
    Some(RunResult {
        run_id: run.id,
        node_id: engine.config().node_id.clone(),
        fencing_token: run.fencing_token,
        status,
        finished_at,
        duration_ms: i64::try_from(outcome.duration.as_millis()).unwrap_or(i64::MAX),
        exit_code: outcome.exit_code,
        http_status: outcome.http_status.map(i32::from),
        output: outcome.output,
        error: outcome.error,
        retry_at,
    })
}

/// Named handlers resolve to an in-process Rust handler first, then to a stored definition.
async fn resolve<S: Store>(engine: &Engine<S>, spec: &HandlerSpec) -> Result<ResolvedSpec, String> {
    match spec {
        HandlerSpec::Http(http) => Ok(ResolvedSpec::Http(http.clone())),
        HandlerSpec::Command(command) => Ok(ResolvedSpec::Command(command.clone())),
        HandlerSpec::Named { name } => {
            if let Some(handler) = engine.registry().get(name) {
                return Ok(ResolvedSpec::InProcess(handler));
            }
            match engine.db(engine.store().named_handler(name)).await {
                Ok(Some(HandlerSpec::Http(http))) => Ok(ResolvedSpec::Http(http)),
                Ok(Some(HandlerSpec::Command(command))) => Ok(ResolvedSpec::Command(command)),
                Ok(Some(HandlerSpec::Named { name: inner })) => {
                    Err(format!("named handler {name:?} refers to another named handler {inner:?}"))
                }
                Ok(None) => Err(format!(
                    "unknown handler {name:?}: no in-process handler and no stored definition"
                )),
                Err(error) => Err(format!("cannot load handler {name:?}: {error}")),
            }
        }
    }
}
