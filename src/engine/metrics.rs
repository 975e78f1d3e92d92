//! The node's metrics in Prometheus's text exposition format (version 0.0.4), as `rota serve`
//! serves them on `/metrics`. Names and meanings are listed in the README (Operations).

use std::fmt::Write;
use std::sync::atomic::Ordering;

use super::Engine;
use crate::store::Store;

impl<S: Store> Engine<S> {
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
