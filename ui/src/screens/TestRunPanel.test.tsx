// The job editor's test run panel follows the run by polling `get_run` until it has ended, then
// shows its outcome, output and error. The IPC is answered by Tauri's own mock.
import { afterEach, describe, expect, it } from "vitest";
import { render, screen, waitFor } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";

import type { RunAttempt, RunStatus } from "../bindings";
import { TestRunPanel } from "./TestRunPanel";

function attempt(status: RunStatus, extra: Partial<RunAttempt> = {}, exitCode: number | null = null): RunAttempt {
  return {
    run: {
      id: "t1", jobId: null, job: "draft", tenant: "acme", scheduledAt: "2026-03-20T12:00:00Z", trigger: "test", attempt: 1, status,
      queuedAt: "2026-03-20T12:00:00Z", notBefore: "2026-03-20T12:00:00Z", startedAt: null, finishedAt: null,
      durationMs: status === "failed" ? 1_200 : null, latenessMs: null, node: null, exitCode, httpStatus: null, reason: null, waitedFor: null,
      errorSummary: status === "failed" ? "exit status 3" : null,
    },
    output: null,
    error: null,
    payloadOverride: null,
    leaseExpiresAt: null,
    cancelRequested: false,
    ...extra,
  };
}

afterEach(() => {
  clearMocks();
});

describe("the editor's test run panel", () => {
  it("polls the run until it has ended and shows its outcome, output and error", async () => {
    const answers = [attempt("queued"), attempt("running"), attempt("failed", { output: "half done\n", error: "exit status 3" }, 3)];
    const asked: string[] = [];
    mockIPC((cmd, args) => {
      if (cmd !== "get_run") throw new Error(`unexpected ${cmd}`);
      asked.push((args as { runId: string }).runId);
      return answers.length > 1 ? answers.shift() : answers[0];
    });
    const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    render(
      <QueryClientProvider client={client}>
        <TestRunPanel runId="t1" />
      </QueryClientProvider>,
    );
    await waitFor(
      () => {
        expect(screen.getByRole("status").textContent).toContain("Test run failed in 1.2 s: exit status 3.");
      },
      { timeout: 5_000 },
    );
    expect(screen.getByTestId("test-run-output").textContent).toBe("half done\n");
    expect(screen.getByTestId("test-run-error").textContent).toBe("exit status 3");
    expect(asked.every((id) => id === "t1")).toBe(true);
    // It stops asking once the run has ended.
    const count = asked.length;
    await new Promise((resolve) => {
      setTimeout(resolve, 1_200);
    });
    expect(asked.length).toBe(count);
  });
});
