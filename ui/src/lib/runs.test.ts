import { describe, expect, it } from "vitest";

import { fillBuckets, formatDuration, isFinal } from "./runs";

describe("formatDuration", () => {
  it("picks a unit people read", () => {
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(12_340)).toBe("12.3 s");
    expect(formatDuration(245_000)).toBe("4 min 05 s");
    expect(formatDuration(7_380_000)).toBe("2 h 03 min");
    expect(formatDuration(-1_500)).toBe("−1.5 s");
    expect(formatDuration(100 * 3_600_000)).toBe("4 d 4 h");
  });
});

describe("fillBuckets", () => {
  it("places sparse buckets and fills the gaps with zeros", () => {
    const filled = fillBuckets(0, 3_000, 1_000, { startMs: [1_000, 3_000], started: [4, 2], failed: [1, 0], lateAvgMs: [1_500, null], lateMaxMs: [2_000, null] });
    expect(filled.x).toEqual([0, 1, 2, 3]);
    expect(filled.started).toEqual([0, 4, 0, 2]);
    expect(filled.failed).toEqual([0, 1, 0, 0]);
    expect(filled.lateAvgS).toEqual([null, 1.5, null, null]);
    expect(filled.lateMaxS).toEqual([null, 2, null, null]);
  });
});

it("knows which statuses are final", () => {
  expect(isFinal("queued")).toBe(false);
  expect(isFinal("running")).toBe(false);
  expect(isFinal("missed")).toBe(true);
});
