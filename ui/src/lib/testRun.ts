// The job editor's test run, as the editor shows it: one line that follows the run from queued
// to its outcome. The run itself is the engine's (trigger `test`); nothing here decides it.
import type { RunRow } from "../bindings";
import { formatDuration, resultText, STATUS_LABEL } from "./runs";

/** How often the editor asks for the test run's state until it has ended (ms). */
export const TEST_RUN_POLL_MS = 500;

/** The line above the test run's output: queued (the tenant's slots, its pause), running, then
 * the outcome with its result text and duration. */
export function testRunMessage(run: RunRow | undefined): string {
  if (run === undefined || run.status === "queued") {
    return "Test run queued; it waits for a free slot of the tenant like its other runs…";
  }
  if (run.status === "running") return "Test run running…";
  const result = resultText(run);
  const took = run.durationMs === null ? "" : ` in ${formatDuration(run.durationMs)}`;
  return `Test run ${STATUS_LABEL[run.status]}${took}${result === "" ? "" : `: ${result}`}.`;
}
