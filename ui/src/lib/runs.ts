// How runs read for people: status names and colours, durations, lateness, idempotency keys.
// Nothing here decides anything about a run; the core has recorded it.
import type { RunRow, RunStatus, Trigger, WaitedFor } from "../bindings";

export const STATUS_LABEL: Record<RunStatus, string> = {
  queued: "queued",
  running: "running",
  succeeded: "succeeded",
  failed: "failed",
  timed_out: "timed out",
  cancelled: "cancelled",
  lost: "lost",
  skipped: "skipped",
  missed: "missed",
};

/** Timeline and badge colours, one per status (colour-blind-safe enough: failures are warm,
 * successes green, what did not run grey or ochre, what runs blue). */
export const STATUS_COLOR: Record<RunStatus, string> = {
  succeeded: "#2e9d5b",
  failed: "#d64545",
  timed_out: "#e8833a",
  lost: "#8e44ad",
  skipped: "#9aa5b5",
  missed: "#c9a227",
  running: "#2f7de1",
  queued: "#a9bdd8",
  cancelled: "#5f6b7a",
};

export const ALL_STATUSES: RunStatus[] = ["succeeded", "failed", "timed_out", "lost", "skipped", "missed", "running", "queued", "cancelled"];

export const TRIGGER_LABEL: Record<Trigger, string> = {
  schedule: "schedule",
  manual: "manual (run now)",
  retry: "retry",
  recovery: "recovery (node lost)",
  backfill: "backfill",
  test: "test run (editor)",
};

export const WAITED_FOR_LABEL: Record<WaitedFor, string> = {
  tenant_limit: "the tenant's concurrency limit (max concurrent runs)",
  rate_limit: "the tenant's rate limit",
  overlap: "the previous run of the job (overlap policy)",
};

/** One text for a run's outcome, for the result column and messages: the error when there is
 * one (it names the exit status or HTTP status itself), else the exit code or HTTP status, else
 * why it did not run; "" when there is nothing to say yet. Never the code and an error that
 * repeats it ("exit 1 · exit status 1"). */
export function resultText(run: Pick<RunRow, "httpStatus" | "exitCode" | "errorSummary" | "reason" | "status">): string {
  const error = run.errorSummary ?? "";
  if (error !== "") return error;
  if (run.reason !== null && run.reason !== "") return run.reason;
  if (run.httpStatus !== null) return `HTTP ${run.httpStatus}`;
  if (run.exitCode !== null) return `exit ${run.exitCode}`;
  return "";
}

export function isFinal(status: RunStatus): boolean {
  return status !== "queued" && status !== "running";
}

/** "850 ms", "12.3 s", "4 min 05 s", "2 h 03 min", "3 d 4 h". */
export function formatDuration(ms: number | null): string {
  if (ms === null || !Number.isFinite(ms)) return "—";
  const sign = ms < 0 ? "−" : "";
  const abs = Math.abs(ms);
  if (abs < 1_000) return `${sign}${Math.round(abs)} ms`;
  if (abs < 60_000) return `${sign}${(abs / 1_000).toFixed(1)} s`;
  const seconds = Math.round(abs / 1_000);
  if (seconds < 3_600) return `${sign}${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 24 * 60) return `${sign}${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
  const hours = Math.round(minutes / 60);
  return `${sign}${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/** Where the overview's chart starts: the whole day once there is a day of history, else a
 * little before the first bucket with runs (at least an hour back), so that a new database
 * shows its first runs as bars, not as one spike at the right edge. */
export function fittedFrom(fromMs: number, nowMs: number, bucketMs: number, startMs: (number | null)[]): number {
  const first = Math.min(...startMs.filter((ms): ms is number => ms !== null));
  if (!Number.isFinite(first)) return Math.max(fromMs, nowMs - HOUR);
  const wanted = Math.min(first - 2 * bucketMs, nowMs - HOUR);
  return Math.max(fromMs, Math.floor(wanted / bucketMs) * bucketMs);
}

const HOUR = 3_600_000;

/** Fills the buckets a chart needs from the sparse list the backend sends (buckets without
 * runs are left out there): one entry per bucket from `fromMs` up to `nowMs`. */
export function fillBuckets(
  fromMs: number,
  nowMs: number,
  bucketMs: number,
  sparse: { startMs: (number | null)[]; started: number[]; failed: number[]; lateAvgMs: (number | null)[]; lateMaxMs: (number | null)[] },
): { x: number[]; started: number[]; failed: number[]; lateAvgS: (number | null)[]; lateMaxS: (number | null)[] } {
  const count = Math.max(1, Math.floor((nowMs - fromMs) / bucketMs) + 1);
  const x = Array.from({ length: count }, (_, index) => (fromMs + index * bucketMs) / 1_000);
  const started = new Array<number>(count).fill(0);
  const failed = new Array<number>(count).fill(0);
  const lateAvgS = new Array<number | null>(count).fill(null);
  const lateMaxS = new Array<number | null>(count).fill(null);
  sparse.startMs.forEach((startMs, position) => {
    const index = Math.round(((startMs ?? Number.NaN) - fromMs) / bucketMs);
    if (Number.isNaN(index)) return;
    if (index < 0 || index >= count) return;
    started[index] = sparse.started[position] ?? 0;
    failed[index] = sparse.failed[position] ?? 0;
    const avg = sparse.lateAvgMs[position];
    const max = sparse.lateMaxMs[position];
    lateAvgS[index] = avg === null || avg === undefined ? null : avg / 1_000;
    lateMaxS[index] = max === null || max === undefined ? null : max / 1_000;
  });
  return { x, started, failed, lateAvgS, lateMaxS };
}
