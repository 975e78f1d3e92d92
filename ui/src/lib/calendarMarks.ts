// What the schedule editor's preview says of a run a calendar excludes or moves. Presentation
// only: the core judged each run as the engine will.
import type { CalendarMark, PreviewRun } from "../bindings";

/** The listed run a moved one lands on, if any (the two then run once, at that time). */
export function mergedWith(mark: CalendarMark, runs: PreviewRun[]): PreviewRun | null {
  if (mark.type !== "moved") return null;
  return runs.find((run) => run.at === mark.to && run.calendar === null) ?? null;
}

/** "Excluded: calendar office: Christmas Day", "Moved to Sat 2026-12-26 09:00:00 UTC (calendar
 * office: Christmas Day)". */
export function calendarNote(mark: CalendarMark, merged: PreviewRun | null = null): string {
  switch (mark.type) {
    case "excluded":
      return mark.noAllowedDay
        ? `Excluded: ${mark.reason}; no allowed day within a month to move it to`
        : `Excluded: ${mark.reason}`;
    case "moved": {
      const lands = merged === null ? "" : ", with that day's run";
      return `Moved to ${mark.toJobZone}${lands} (${mark.reason})`;
    }
  }
}
