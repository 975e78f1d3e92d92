import { describe, expect, it } from "vitest";

import { monthGrid } from "./calendarYear";

describe("monthGrid", () => {
  it("starts weeks on Monday and covers every day once", () => {
    // December 2026 starts on a Tuesday and has 31 days.
    const weeks = monthGrid(2026, 11);
    expect(weeks[0]).toEqual([null, "2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-05", "2026-12-06"]);
    const days = weeks.flat().filter((day) => day !== null);
    expect(days).toHaveLength(31);
    expect(days.at(-1)).toBe("2026-12-31");
    expect(weeks.every((week) => week.length === 7)).toBe(true);
  });

  it("knows leap years", () => {
    expect(monthGrid(2028, 1).flat().filter((day) => day !== null)).toHaveLength(29);
    expect(monthGrid(2027, 1).flat().filter((day) => day !== null)).toHaveLength(28);
  });
});
