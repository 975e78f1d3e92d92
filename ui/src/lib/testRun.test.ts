import { describe, expect, it } from "vitest";

import type { RunRow } from "../bindings";
import { testRunMessage } from "./testRun";

const row = (overrides: Partial<RunRow>): RunRow => ({
  id: "r1", jobId: null, job: "draft", tenant: "acme", scheduledAt: "2026-03-20T12:00:00Z", trigger: "test", attempt: 1, status: "queued",
  queuedAt: "2026-03-20T12:00:00Z", notBefore: "2026-03-20T12:00:00Z", startedAt: null, finishedAt: null, durationMs: null, latenessMs: null,
  node: null, exitCode: null, httpStatus: null, reason: null, waitedFor: null, errorSummary: null,
  ...overrides,
});

describe("the editor's test run line", () => {
  it("follows the test run from queued to its outcome, with one result text and the duration", () => {
    expect(testRunMessage(undefined)).toBe("Test run queued; it waits for a free slot of the tenant like its other runs…");
    expect(testRunMessage(row({ status: "running" }))).toBe("Test run running…");
    expect(testRunMessage(row({ status: "succeeded", exitCode: 0, durationMs: 850 }))).toBe("Test run succeeded in 850 ms: exit 0.");
    expect(testRunMessage(row({ status: "failed", exitCode: 3, errorSummary: "exit status 3", durationMs: 1_500 }))).toBe(
      "Test run failed in 1.5 s: exit status 3.",
    );
    expect(testRunMessage(row({ status: "timed_out" }))).toBe("Test run timed out.");
  });
});
