import { describe, expect, it } from "vitest";

import { fillBuckets, fittedFrom, formatDuration, isFinal, resultText } from "./runs";

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

describe("the overview chart's window", () => {
  const bucket = 900_000;
  const now = 100 * bucket;
  const from = now - 96 * bucket;
  it("fits a short history instead of squeezing it to the right edge", () => {
    // Runs only in the last two buckets: an hour back, not the whole day.
    expect(fittedFrom(from, now, bucket, [now - bucket, now])).toBe(now - 4 * bucket);
    // Runs three hours back: from two buckets before the first.
    expect(fittedFrom(from, now, bucket, [now - 12 * bucket])).toBe(now - 14 * bucket);
    // A full day of history keeps the day; no runs at all shows the last hour.
    expect(fittedFrom(from, now, bucket, [from, now])).toBe(from);
    expect(fittedFrom(from, now, bucket, [])).toBe(now - 4 * bucket);
  });
});

describe("one result text per outcome", () => {
  const run = { httpStatus: null, exitCode: null, errorSummary: null, reason: null, status: "succeeded" as const };
  it("never repeats the exit or HTTP status the error already names", () => {
    expect(resultText({ ...run, status: "failed", exitCode: 1, errorSummary: "exit status 1" })).toBe("exit status 1");
    expect(resultText({ ...run, status: "failed", httpStatus: 500, errorSummary: "HTTP 500 Internal Server Error" })).toBe("HTTP 500 Internal Server Error");
    expect(resultText({ ...run, exitCode: 0 })).toBe("exit 0");
    expect(resultText({ ...run, httpStatus: 204 })).toBe("HTTP 204");
    expect(resultText({ ...run, status: "skipped", reason: "the previous run was still running" })).toBe("the previous run was still running");
    expect(resultText(run)).toBe("");
  });
});
