import { describe, expect, it } from "vitest";

import type { CalendarMark, PreviewRun } from "../bindings";
import { calendarNote, mergedWith } from "./calendarMarks";

const run = (at: string, calendar: CalendarMark | null = null): PreviewRun => ({ at, jobZone: at, viewerZone: at, note: null, calendar });

describe("calendar marks in the schedule preview", () => {
  const moved: CalendarMark = {
    type: "moved",
    calendar: "office",
    event: "Christmas Day",
    reason: "calendar office: Christmas Day",
    to: "2026-12-26T09:00:00Z",
    toJobZone: "Sat 2026-12-26 09:00:00 UTC",
    toViewerZone: "Sat 2026-12-26 10:00:00 CET",
  };

  it("names the calendar and event of an excluded run, and says when it could not move", () => {
    const excluded: CalendarMark = { type: "excluded", calendar: "office", event: "Christmas Day", reason: "calendar office: Christmas Day", noAllowedDay: false };
    expect(calendarNote(excluded)).toBe("Excluded: calendar office: Christmas Day");
    expect(calendarNote({ ...excluded, noAllowedDay: true })).toBe("Excluded: calendar office: Christmas Day; no allowed day within a month to move it to");
  });

  it("says where a moved run goes, and that it runs once with a run already there", () => {
    expect(calendarNote(moved)).toBe("Moved to Sat 2026-12-26 09:00:00 UTC (calendar office: Christmas Day)");
    const runs = [run("2026-12-25T09:00:00Z", moved), run("2026-12-26T09:00:00Z")];
    expect(mergedWith(moved, runs)).toBe(runs[1]);
    expect(calendarNote(moved, mergedWith(moved, runs))).toBe("Moved to Sat 2026-12-26 09:00:00 UTC, with that day's run (calendar office: Christmas Day)");
    expect(mergedWith(moved, runs.slice(0, 1))).toBeNull();
  });
});
