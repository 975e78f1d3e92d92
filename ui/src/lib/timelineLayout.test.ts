import { describe, expect, it } from "vitest";

import { DAY_MS, DEFAULT_FOLLOW, followOf, followStepMs, followView, GHOST_MIN_WIDTH, ghostHitTest, type Timeline, HOUR_MS, hitTest, msAt, PRESETS, rowsFor, spanDetails, ticks, viewEndingNow, xOf, zoomView } from "./timelineLayout";

const lanes = [
  { jobId: "a", job: "backup", tenant: "acme" },
  { jobId: "b", job: "report", tenant: "acme" },
  { jobId: "c", job: "sync", tenant: "globex" },
];

describe("rows", () => {
  it("gives each job a row, or each tenant one", () => {
    expect(rowsFor(lanes, "job").labels).toEqual(["acme / backup", "acme / report", "globex / sync"]);
    const tenants = rowsFor(lanes, "tenant");
    expect(tenants.labels).toEqual(["acme", "globex"]);
    expect(Array.from(tenants.rowOfLane)).toEqual([0, 0, 1]);
  });
});

describe("the time axis", () => {
  const view = { fromMs: 0, toMs: 1_000 };
  it("maps instants to pixels and back", () => {
    expect(xOf(250, view, 400)).toBe(100);
    expect(msAt(100, view, 400)).toBe(250);
  });

  it("zooms around the anchor between an hour and a month", () => {
    const day = { fromMs: 0, toMs: DAY_MS };
    const zoomed = zoomView(day, 0.5, DAY_MS / 2);
    expect(zoomed).toEqual({ fromMs: DAY_MS / 4, toMs: (3 * DAY_MS) / 4 });
    expect(zoomView(day, 0.001, 0).toMs).toBe(HOUR_MS);
    expect(zoomView(day, 1_000, 0).toMs).toBe(31 * DAY_MS);
  });

  it("ends a view a little after now", () => {
    expect(viewEndingNow(10 * HOUR_MS, 5 * HOUR_MS)).toEqual({ fromMs: 6 * HOUR_MS, toMs: 11 * HOUR_MS });
  });

  it("puts round ticks on the axis", () => {
    expect(ticks({ fromMs: 0, toMs: 6 * HOUR_MS }, 8)).toEqual([0, 1, 2, 3, 4, 5, 6].map((hour) => hour * HOUR_MS));
  });
});

it("finds the run under the pointer, in its row, among visible statuses", () => {
  const data: Timeline = {
    fromMs: 0,
    toMs: 1_000,
    nowMs: 1_000,
    lanes,
    spans: { ids: ["r1", "r2", "r3"], lane: [0, 1, 2], beginMs: [100, 100, 500], endMs: [200, 300, 600], status: ["succeeded", "failed", "running"], scheduledMs: [90, 100, 450], startedMs: [100, 100, 500] },
    truncated: false,
    ghosts: { lane: [], atMs: [], expectedMs: [] },
    ghostsTruncated: false,
  };
  const rows = rowsFor(lanes, "tenant");
  const view = { fromMs: 0, toMs: 1_000 };
  expect(hitTest(data, rows, view, 1_000, 250, 0, () => true)).toBe(1);
  expect(hitTest(data, rows, view, 1_000, 150, 0, (status) => status !== "failed")).toBe(0);
  expect(hitTest(data, rows, view, 1_000, 550, 0, () => true)).toBeNull();
  expect(hitTest(data, rows, view, 1_000, 550, 1, () => true)).toBe(2);
});

describe("following now", () => {
  it("shows the last day and the next six hours by default, with now in view", () => {
    const now = Date.parse("2026-03-20T12:00:00Z");
    const view = followView(now, DEFAULT_FOLLOW);
    expect(view.toMs - now).toBe(6 * HOUR_MS);
    expect(now - view.fromMs).toBe(DAY_MS);
    for (const preset of PRESETS) {
      const shown = followView(now, preset.follow);
      expect(shown.fromMs < now && now < shown.toMs, preset.label).toBe(true);
      // The future shows: at least a day, or a fifth of a shorter view.
      expect(shown.toMs - now, preset.label).toBeGreaterThanOrEqual(Math.min(DAY_MS, (shown.toMs - shown.fromMs) / 5));
    }
  });

  it("keeps now where the view had it, and moves about a pixel at a time", () => {
    expect(followOf({ fromMs: 0, toMs: 1_000 }, 800)).toEqual({ backMs: 800, aheadMs: 200 });
    expect(followOf({ fromMs: 0, toMs: 1_000 }, 5_000)).toEqual({ backMs: 750, aheadMs: 250 });
    expect(followStepMs({ fromMs: 0, toMs: HOUR_MS })).toBe(2_400);
    expect(followStepMs({ fromMs: 0, toMs: 60_000 })).toBe(1_000);
    expect(followStepMs({ fromMs: 0, toMs: 30 * DAY_MS })).toBe(60_000);
  });
});

describe("hover details", () => {
  const data: Timeline = {
    fromMs: 0,
    toMs: 100_000,
    nowMs: 50_000,
    lanes,
    spans: { ids: ["r1", "r2"], lane: [0, 2], beginMs: [10_000, 20_000], endMs: [13_500, 20_000], status: ["succeeded", "missed"], scheduledMs: [9_000, 20_000], startedMs: [10_000, null] },
    truncated: false,
    ghosts: { lane: [1], atMs: [60_000], expectedMs: [0] },
    ghostsTruncated: false,
  };

  it("give job, status, scheduled, started, duration and lateness", () => {
    expect(spanDetails(data, 0)).toEqual({ job: "acme / backup", status: "succeeded", scheduledMs: 9_000, startedMs: 10_000, durationMs: 3_500, lateByMs: 1_000 });
    expect(spanDetails(data, 1)).toEqual({ job: "globex / sync", status: "missed", scheduledMs: 20_000, startedMs: null, durationMs: null, lateByMs: null });
    expect(spanDetails(data, 7)).toBeNull();
  });

  it("find a projected run even without a known duration", () => {
    const rows = rowsFor(lanes, "job");
    const view = { fromMs: 0, toMs: 100_000 };
    // 1,000 px for 100 s: the ghost at 60 s is drawn at least GHOST_MIN_WIDTH wide.
    expect(ghostHitTest(data, rows, view, 1_000, 600 + GHOST_MIN_WIDTH, 1)).toBe(0);
    expect(ghostHitTest(data, rows, view, 1_000, 600, 0)).toBeNull();
    expect(ghostHitTest(data, rows, view, 1_000, 700, 1)).toBeNull();
  });
});
