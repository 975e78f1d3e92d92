import { describe, expect, it } from "vitest";

import { DAY_MS, type Timeline, HOUR_MS, hitTest, msAt, rowsFor, ticks, viewEndingNow, xOf, zoomView } from "./timelineLayout";

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
    spans: { ids: ["r1", "r2", "r3"], lane: [0, 1, 2], beginMs: [100, 100, 500], endMs: [200, 300, 600], status: ["succeeded", "failed", "running"] },
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
