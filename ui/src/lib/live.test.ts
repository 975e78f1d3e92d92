import { describe, expect, it } from "vitest";
import { QueryClient } from "@tanstack/react-query";

import type { RunChange, RunRow, TimelineQuery } from "../bindings";
import type { Timeline } from "./timelineLayout";
import { applyChanges, patchRunRows, patchTimeline } from "./live";

const change = (overrides: Partial<RunChange>): RunChange => ({
  id: "r1",
  jobId: "j1",
  job: "report",
  tenant: "acme",
  scheduledAt: "2026-03-20T12:00:00Z",
  trigger: "manual",
  attempt: 1,
  status: "running",
  startedAt: "2026-03-20T12:00:01Z",
  finishedAt: null,
  beginMs: 1_000,
  endMs: 2_000,
  ...overrides,
});

const window: TimelineQuery = { from: "x", to: "y", tenant: null, jobId: null, limit: 50_000 };

const timeline = (): Timeline => ({
  fromMs: 0,
  toMs: 10_000,
  nowMs: 5_000,
  lanes: [{ jobId: "j1", job: "report", tenant: "acme" }],
  spans: { ids: ["r1"], lane: [0], beginMs: [1_000], endMs: [2_000], status: ["running"], scheduledMs: [900], startedMs: [1_000] },
  truncated: false,
  ghosts: { lane: [], atMs: [], expectedMs: [] },
  ghostsTruncated: false,
});

describe("patchTimeline", () => {
  it("moves a known run and adds a new one in a new lane", () => {
    const patched = patchTimeline(timeline(), window, [
      change({ status: "succeeded", endMs: 3_000 }),
      change({ id: "r2", jobId: "j2", job: "sync", tenant: "globex", status: "queued", beginMs: 6_000, endMs: 6_000 }),
    ]);
    expect(patched.spans.status).toEqual(["succeeded", "queued"]);
    expect(patched.spans.endMs).toEqual([3_000, 6_000]);
    expect(patched.spans.lane).toEqual([0, 1]);
    expect(patched.lanes[1]).toEqual({ jobId: "j2", job: "sync", tenant: "globex" });
  });

  it("leaves a window alone when nothing in it changed", () => {
    const data = timeline();
    expect(patchTimeline(data, window, [change({ id: "r9", beginMs: 20_000, endMs: 21_000 })])).toBe(data);
    expect(patchTimeline(data, { ...window, tenant: "globex" }, [change({ status: "failed" })])).toBe(data);
  });
});

describe("patchRunRows", () => {
  const row = { id: "r1", status: "running", scheduledAt: "2026-03-20T12:00:00Z", startedAt: "2026-03-20T12:00:01Z", finishedAt: null, durationMs: null, latenessMs: 1_000 } as RunRow;

  it("patches a run that started and asks for a reload for new or finished ones", () => {
    const queued = { ...row, status: "queued", startedAt: null } as RunRow;
    const patched = patchRunRows([queued], [change({ status: "running" })]);
    expect(patched?.[0]?.status).toBe("running");
    expect(patched?.[0]?.startedAt).toBe("2026-03-20T12:00:01Z");
    expect(patchRunRows([row], [change({ status: "failed", finishedAt: "2026-03-20T12:00:04Z" })])).toBeNull();
    expect(patchRunRows([row], [change({ id: "new" })])).toBeNull();
  });
});

it("patches cached timelines in place and refreshes the overview", () => {
  const client = new QueryClient();
  client.setQueryData(["timeline", window], timeline());
  client.setQueryData(["overview"], { stale: false });
  applyChanges(client, { runs: [change({ status: "failed", endMs: 2_500 })], reload: false, jobs: false, tenants: false, nodes: false });
  expect(client.getQueryData<Timeline>(["timeline", window])?.spans.status).toEqual(["failed"]);
  expect(client.getQueryState(["overview"])?.isInvalidated).toBe(true);
});
