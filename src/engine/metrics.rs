//! The node's metrics in Prometheus's text exposition format (version 0.0.4), as `rota serve`
//! serves them on `/metrics`. Names and meanings are listed in the README (Operations).

use std::fmt::Write;
use std::sync::atomic::Ordering;

use super::Engine;

/// How long a scrape waits for the database's part of the metrics.
pub const FLEET_QUERY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
use crate::store::Store;

impl<S: Store> Engine<S> {
    /// What the whole deployment holds, read from the database (not per node: every node
    /// serves the same numbers): runs queued and running per tenant, auto-disabled jobs per
    /// tenant, and notifications not yet delivered. Empty when the database does not answer
    /// within [`FLEET_QUERY_TIMEOUT`] (the node's own metrics and `/healthz` still say why), so
    /// a scrape never hangs on a stalled database.
    pub async fn fleet_metrics_text(&self) -> String {
        let store = self.store();
        let since = self.clock().now() - chrono::TimeDelta::hours(24);
        let read = async {
            Ok::<_, crate::Error>((
                store.tenant_overview(since).await?,
                store.outbox_backlog().await?,
            ))
        };
        let Ok(Ok((tenants, backlog))) = tokio::time::timeout(FLEET_QUERY_TIMEOUT, read).await
        else {
            return String::new();
        };
        let mut text = String::new();
        let _ = writeln!(
            text,
            "# HELP rota_tenant_runs Runs of each tenant by status, across all nodes (queued \
             includes retries waiting for their backoff).\n# TYPE rota_tenant_runs gauge"
        );
        for overview in &tenants {
            let tenant = escape(&overview.tenant.name);
            for (status, value) in [("queued", overview.queued), ("running", overview.running)] {
                let _ = writeln!(
                    text,
                    "rota_tenant_runs{{tenant=\"{tenant}\",status=\"{status}\"}} {value}"
                );
            }
        }
        let _ = writeln!(
            text,
            "# HELP rota_tenant_auto_disabled_jobs Jobs Rota disabled after failures, per \
             tenant.\n# TYPE rota_tenant_auto_disabled_jobs gauge"
        );
        for overview in &tenants {
            let tenant = escape(&overview.tenant.name);
            let value = overview.auto_disabled_jobs;
            let _ = writeln!(text, "rota_tenant_auto_disabled_jobs{{tenant=\"{tenant}\"}} {value}");
        }
        let _ = writeln!(
            text,
            "# HELP rota_outbox_backlog Notifications neither delivered nor given up on.\n\
             # TYPE rota_outbox_backlog gauge\nrota_outbox_backlog {backlog}"
        );
        text
    }

    /// Every metric of this node, labelled with its node id.
    pub fn metrics_text(&self) -> String {
        let stats = self.stats();
        let health = self.health();
        let node = escape(&self.config().node_id);
        let mut text = String::new();
        let counters = [
            ("rota_ticks_total", "Tick passes over due jobs.", stats.ticks.load(Ordering::Relaxed)),
            (
                "rota_runs_enqueued_total",
                "Runs queued by this node's ticks.",
                stats.enqueued.load(Ordering::Relaxed),
            ),
            (
                "rota_runs_claimed_total",
                "Runs claimed by this node.",
                stats.claimed.load(Ordering::Relaxed),
            ),
            (
                "rota_dispatch_cycles_total",
                "Record-and-claim cycles of this node's dispatcher.",
                stats.cycles.load(Ordering::Relaxed),
            ),
            (
                "rota_dispatch_cycles_side_by_side_total",
                "Of those cycles, the ones that recorded results in a transaction beside the claim's (Postgres, while a queue burns down).",
                stats.side_by_side_cycles.load(Ordering::Relaxed),
            ),
            (
                "rota_claim_slots_offered_total",
                "Runs this node's claims asked for (free worker slots); claimed / offered is how full claims come back (low while runs wait: other nodes' claims hold the tenants, tenant limits, or a claim beside a recording that could not see the rooms it freed).",
                stats.claim_asked.load(Ordering::Relaxed),
            ),
            (
                "rota_runs_succeeded_total",
                "Runs this node recorded as succeeded.",
                stats.succeeded.load(Ordering::Relaxed),
            ),
            (
                "rota_runs_failed_total",
                "Runs this node recorded as failed, timed out or cancelled.",
                stats.failed.load(Ordering::Relaxed),
            ),
            (
                "rota_results_fenced_out_total",
                "Results discarded because the claim was superseded.",
                stats.fenced_out.load(Ordering::Relaxed),
            ),
            (
                "rota_runs_recovered_total",
                "Runs of dead nodes recovered by this node.",
                stats.recovered.load(Ordering::Relaxed),
            ),
            (
                "rota_database_errors_total",
                "Database calls of this node that failed.",
                health.database_errors(),
            ),
            (
                "rota_database_reconnects_total",
                "Times this node's database answered again after failing or stalling.",
                health.reconnects(),
            ),
        ];
        for (name, help, value) in counters {
            header(&mut text, name, help, "counter");
            let _ = writeln!(text, "{name}{{node=\"{node}\"}} {value}");
        }
        let gauges = [
            (
                "rota_runs_running",
                "Runs executing on this node now.",
                stats.running.load(Ordering::Relaxed) as f64,
            ),
            (
                "rota_results_waiting",
                "Finished runs whose results wait to be recorded (kept while the database is away).",
                self.results_waiting() as f64,
            ),
            (
                "rota_healthy",
                "1 while /healthz answers 200, else 0.",
                if health.report().is_healthy() { 1.0 } else { 0.0 },
            ),
        ];
        for (name, help, value) in gauges {
            header(&mut text, name, help, "gauge");
            let _ = writeln!(text, "{name}{{node=\"{node}\"}} {value}");
        }
        if let Some(last) = health.last_answer() {
            let name = "rota_database_last_answer_age_seconds";
            header(&mut text, name, "Seconds since the database last answered this node.", "gauge");
            let age = (self.now() - last).num_milliseconds().max(0) as f64 / 1000.0;
            let _ = writeln!(text, "{name}{{node=\"{node}\"}} {age}");
        }
        let name = "rota_loop_iteration_age_seconds";
        header(&mut text, name, "Seconds since each loop last completed an iteration.", "gauge");
        for (loop_name, age) in health.loop_ages() {
            let _ = writeln!(text, "{name}{{node=\"{node}\",loop=\"{loop_name}\"}} {age}");
        }
        let name = "rota_occurrences_not_run_total";
        header(
            &mut text,
            name,
            "Occurrences this node's ticks recorded as skipped or missed, by reason.",
            "counter",
        );
        for (status, reason, count) in stats.not_run() {
            let _ = writeln!(
                text,
                "{name}{{node=\"{node}\",status=\"{status}\",reason=\"{reason}\"}} {count}",
                reason = reason.as_str()
            );
        }
        let name = "rota_fire_lateness_seconds";
        header(
            &mut text,
            name,
            "How late scheduled runs started on this node: start minus the instant they were due.",
            "histogram",
        );
        let lateness = stats.fire_lateness.snapshot();
        for (bound, count) in &lateness.buckets {
            let _ = writeln!(text, "{name}_bucket{{node=\"{node}\",le=\"{bound}\"}} {count}");
        }
        let _ = writeln!(text, "{name}_bucket{{node=\"{node}\",le=\"+Inf\"}} {}", lateness.count);
        let _ = writeln!(text, "{name}_sum{{node=\"{node}\"}} {}", lateness.sum_seconds);
        let _ = writeln!(text, "{name}_count{{node=\"{node}\"}} {}", lateness.count);
        text
    }
}

fn header(text: &mut String, name: &str, help: &str, kind: &str) {
    let _ = writeln!(text, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value as the text format wants it: backslash, double quote and newline escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
