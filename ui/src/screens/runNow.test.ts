import { describe, expect, it } from "vitest";

import type { RunRow } from "../bindings";
import { runNowMessage } from "./JobOperations";

const row = (overrides: Partial<RunRow>): RunRow => ({
  id: "r1", jobId: "j1", job: "report", tenant: "acme", scheduledAt: "2026-03-20T12:00:00Z", trigger: "manual", attempt: 1, status: "queued",
  queuedAt: "2026-03-20T12:00:00Z", notBefore: "2026-03-20T12:00:00Z", startedAt: null, finishedAt: null, durationMs: null, latenessMs: null,
  node: null, exitCode: null, httpStatus: null, reason: null, waitedFor: null, errorSummary: null,
  ...overrides,
});

describe("the Run now line", () => {
  it("follows the run from queued to its outcome, with one result text", () => {
    expect(runNowMessage(undefined)).toBe("Run queued; waiting for a free worker…");
    expect(runNowMessage(row({ status: "running" }))).toBe("Running…");
    expect(runNowMessage(row({ status: "succeeded", exitCode: 0 }))).toBe("Run succeeded: exit 0.");
    expect(runNowMessage(row({ status: "failed", exitCode: 1, errorSummary: "exit status 1" }))).toBe("Run failed: exit status 1.");
    expect(runNowMessage(row({ status: "timed_out" }))).toBe("Run timed out.");
  });
});
