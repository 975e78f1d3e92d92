// The calendars screen's and the what-if panel's commands in the headless-browser mock. The
// iCalendar reading here is crude (all-day DTSTART/DTEND and SUMMARY only); the real reader is
// tested in Rust.
import type { CalendarMark, CalendarRow, CalendarsInput, CalendarYear, CommandError, PreviewRun, WhatIfInput, WhatIfView } from "../bindings";

interface Stored {
  row: CalendarRow;
  days: { date: string; event: string }[];
}

/** Not a calendar command: the caller answers it. */
export const NOT_MINE = Symbol("not a calendar command");

type Fail = (code: CommandError["code"], message: string, extra?: Partial<CommandError>) => never;

function isoDate(value: string): string {
  return `${value.slice(0, 4)}-${value.slice(4, 6)}-${value.slice(6, 8)}`;
}

/** All-day events of an iCalendar text: each day from DTSTART to the day before DTEND. */
function readDays(ics: string, fail: Fail): { date: string; event: string }[] {
  const lines = ics.split(/\r?\n/);
  if (!/^BEGIN:VCALENDAR/i.test(lines[0] ?? "")) {
    fail("invalid", `calendar: line 1, BEGIN:VCALENDAR: the file does not start with BEGIN:VCALENDAR; allowed: an iCalendar (RFC 5545) file`);
  }
  const days: { date: string; event: string }[] = [];
  let start: string | null = null;
  let end: string | null = null;
  let summary = "";
  lines.forEach((line, index) => {
    const value = line.slice(line.indexOf(":") + 1);
    if (line.startsWith("DTSTART")) {
      if (!/^\d{8}$/.test(value)) fail("invalid", `calendar: line ${index + 1}, DTSTART: "${value}" is not a date or date-time`);
      start = value;
    } else if (line.startsWith("DTEND")) {
      end = value;
    } else if (line.startsWith("SUMMARY")) {
      summary = value;
    } else if (line.startsWith("END:VEVENT") && start !== null) {
      const first = Date.UTC(Number(start.slice(0, 4)), Number(start.slice(4, 6)) - 1, Number(start.slice(6, 8)));
      const last = end === null ? first + 86_400_000 : Date.UTC(Number(end.slice(0, 4)), Number(end.slice(4, 6)) - 1, Number(end.slice(6, 8)));
      for (let at = first; at < last; at += 86_400_000) {
        days.push({ date: new Date(at).toISOString().slice(0, 10), event: summary || isoDate(start) });
      }
      start = null;
      end = null;
      summary = "";
    }
  });
  return days;
}

export class CalendarsMock {
  private readonly calendars: Stored[] = [];

  constructor(private readonly fail: Fail, private readonly now: () => number) {}

  /** The schedule preview's runs marked as the core would (whole days only, in UTC): a run
   * on a day an exclude calendar lists, or that the only-calendar does not, is excluded or
   * moved to the same time on the next or previous allowed day. */
  markRuns(tenant: string | null, chosen: CalendarsInput | null, runs: PreviewRun[]): PreviewRun[] {
    if (chosen === null || tenant === null) return runs;
    const find = (name: string) => {
      const stored =
        this.calendars.find((candidate) => candidate.row.name === name && candidate.row.tenant === tenant) ??
        this.calendars.find((candidate) => candidate.row.name === name && candidate.row.tenant === null);
      if (stored === undefined) this.fail("not_found", `calendar "${name}" does not exist`);
      return stored;
    };
    const excluding = chosen.excludeCalendars.map(find);
    const only = chosen.onlyCalendar === null ? null : find(chosen.onlyCalendar);
    const verdict = (date: string): { calendar: string; event: string | null } | null => {
      for (const stored of excluding) {
        const day = stored.days.find((candidate) => candidate.date === date);
        if (day !== undefined) return { calendar: stored.row.name, event: day.event };
      }
      if (only === null) return null;
      const day = only.days.find((candidate) => candidate.date === date);
      return day === undefined ? { calendar: only.row.name, event: null } : null;
    };
    return runs.map((run) => {
      const because = verdict(run.at.slice(0, 10));
      if (because === null) return run;
      const reason = `calendar ${because.calendar}: ${because.event ?? "not one of its days"}`;
      const step = chosen.onExcluded === "next" ? 1 : chosen.onExcluded === "previous" ? -1 : 0;
      for (let days = 1; step !== 0 && days <= 31; days += 1) {
        const to = new Date(Date.parse(run.at) + step * days * 86_400_000).toISOString().replace(".000Z", "Z");
        if (verdict(to.slice(0, 10)) === null) {
          const mark: CalendarMark = { type: "moved", ...because, reason, to, toJobZone: `${to} (job)`, toViewerZone: `${to} (you)` };
          return { ...run, calendar: mark };
        }
      }
      const mark: CalendarMark = { type: "excluded", ...because, reason, noAllowedDay: step !== 0 };
      return { ...run, calendar: mark };
    });
  }

  handle(cmd: string, args: Record<string, unknown>): unknown {
    switch (cmd) {
      case "list_calendars":
        return this.calendars.map((stored) => stored.row);
      case "import_calendar": {
        const tenant = (args.tenant as string | null) ?? null;
        const name = String(args.name);
        if (name.trim() === "") this.fail("invalid", `calendar name: "" is invalid: must not be empty`, { field: "name" });
        const days = readDays(String(args.ics), this.fail);
        const existing = this.calendars.find((stored) => stored.row.name === name && stored.row.tenant === tenant);
        if (args.replace === true) {
          if (existing === undefined) this.fail("not_found", `calendar "${name}" does not exist`);
          existing.days = days;
          existing.row = { ...existing.row, events: days.length, version: String(Number(existing.row.version) + 1) };
          return existing.row;
        }
        if (existing !== undefined) this.fail("already_exists", `calendar "${name}" already exists`);
        const row: CalendarRow = { name, tenant, events: days.length, version: "1", updatedAt: new Date(this.now()).toISOString() };
        this.calendars.push({ row, days });
        return row;
      }
      case "calendar_year": {
        const stored = this.calendars.find((candidate) => candidate.row.name === args.name && candidate.row.tenant === ((args.tenant as string | null) ?? null));
        if (stored === undefined) this.fail("not_found", `calendar "${String(args.name)}" does not exist`);
        const year = Number(args.year);
        const answer: CalendarYear = {
          name: stored.row.name,
          tenant: stored.row.tenant,
          year,
          days: stored.days.filter((day) => day.date.startsWith(`${year}-`)),
          windows: [],
        };
        return answer;
      }
      case "what_if": {
        // A herd at midnight: 24 other jobs start then in the mock's fleet.
        const input = args.input as WhatIfInput;
        const midnight = input.schedule.trim().startsWith("0 0 ");
        const jitter = input.jitterWindowSeconds ?? 0;
        const day = new Date(this.now());
        const next = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate() + 1) + (jitter > 0 ? Math.floor(jitter / 2) * 1000 : 0);
        const herd = midnight && jitter === 0;
        const answer: WhatIfView = {
          starts: midnight
            ? [{ at: new Date(next).toISOString().replace(".000Z", "Z"), fleetMinute: 25, tenantMinute: 12, sameSecond: herd ? 25 : 1, herd }]
            : [],
          suggestedJitterWindowSeconds: herd ? 60 : null,
          herdThreshold: 20,
        };
        return answer;
      }
      default:
        return NOT_MINE;
    }
  }
}
