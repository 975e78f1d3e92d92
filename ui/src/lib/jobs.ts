// Why a job will not run on its schedule, in one sentence for every screen that would otherwise
// show a next run (the job page, the jobs table). The core keeps such jobs out of the next runs
// and the timeline's projections; this says why where a job is still listed.
import type { JobState } from "../bindings";
import { count } from "./count";

/** The parts of a job (`JobDetail`, `JobRow`) that decide whether it runs. */
export interface RunGate {
  state: JobState;
  paused: boolean;
  /** The job's tenant is paused. */
  tenantPaused: boolean;
  disabledReason: string | null;
  consecutiveFailures: number;
}

/** "auto-disabled after 5 failures in a row", "disabled: maintenance window", "paused",
 * "tenant paused"; null when the job runs on its schedule. A disabled job that is also paused
 * is reported as disabled: re-enabling is the first thing it needs; a paused job of a paused
 * tenant as paused (its own switch). */
export function whyNotRunning(job: RunGate): string | null {
  switch (job.state) {
    case "auto_disabled":
      return job.consecutiveFailures > 0
        ? `auto-disabled after ${count(job.consecutiveFailures, "failure")} in a row`
        : "auto-disabled after repeated failures";
    case "disabled": {
      const reason = job.disabledReason?.trim() ?? "";
      return reason === "" || reason === "auto" ? "disabled" : `disabled: ${reason}`;
    }
    case "enabled":
      if (job.paused) return "paused";
      return job.tenantPaused ? "tenant paused" : null;
  }
}

/** The "won't run: ..." text shown in place of a next run, or null when the job runs. */
export function wontRun(job: RunGate): string | null {
  const why = whyNotRunning(job);
  return why === null ? null : `won't run: ${why}`;
}
