// Formatting instants for people, in a given IANA zone. Instants arrive from the backend as
// RFC 3339 strings in UTC; the core has already decided them.
import { TZDate } from "@date-fns/tz";
import { format, formatDistanceStrict } from "date-fns";

/** The viewer's IANA zone, as the system reports it (UTC when it reports nothing usable). */
export function viewerTimeZone(): string {
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return zone && zone.length > 0 ? zone : "UTC";
}

/** "2026-03-29 03:00" in `zone`. */
export function formatInZone(instant: string, zone: string): string {
  return format(new TZDate(instant, zone), "yyyy-MM-dd HH:mm");
}

/** "2026-03-29 03:00 Europe/Berlin": an instant that carries its zone, for text outside a
 * table whose header names the zone. */
export function instantWithZone(instant: string, zone: string): string {
  return `${formatInZone(instant, zone)} ${zone}`;
}

/** An instant of a job, on the job's wall clock first and, where the viewer's zone differs, on
 * the viewer's beside it: "2026-12-08 02:30 Europe/Berlin (01:30 UTC)" (the viewer's date is
 * repeated only when it differs). */
export function jobInstant(instant: string, jobZone: string, viewerZone: string): string {
  const job = instantWithZone(instant, jobZone);
  if (sameClock(instant, jobZone, viewerZone)) return job;
  const jobDay = format(new TZDate(instant, jobZone), "yyyy-MM-dd");
  const viewerDay = format(new TZDate(instant, viewerZone), "yyyy-MM-dd");
  const viewer = jobDay === viewerDay ? format(new TZDate(instant, viewerZone), "HH:mm") : formatInZone(instant, viewerZone);
  return `${job} (${viewer} ${viewerZone})`;
}

/** Whether two zones show `instant` on the same wall clock (then one of them is enough). */
function sameClock(instant: string, a: string, b: string): boolean {
  return a === b || format(new TZDate(instant, a), "yyyy-MM-dd HH:mm xxx") === format(new TZDate(instant, b), "yyyy-MM-dd HH:mm xxx");
}

/** A table header or axis title naming the zone its instants are shown in: "Next run (UTC)". */
export function zoned(label: string, zone: string): string {
  return `${label} (${zone})`;
}

/** "in 3 hours" / "5 minutes ago", relative to `now`. */
export function relativeTo(instant: string, now: Date): string {
  const at = new Date(instant);
  const distance = formatDistanceStrict(at, now);
  return at.getTime() >= now.getTime() ? `in ${distance}` : `${distance} ago`;
}

/** A short cell text for an optional instant in a column whose header names `zone` (see
 * `zoned`): the time in that zone, or a dash. */
export function shortInstant(instant: string | null, zone: string): string {
  return instant === null ? "—" : formatInZone(instant, zone);
}

/** The value of a `datetime-local` input for `instant` in `zone` ("2026-03-29T03:00"). */
export function localInputValue(instant: Date, zone: string): string {
  return format(new TZDate(instant.getTime(), zone), "yyyy-MM-dd'T'HH:mm");
}

/** The instant a `datetime-local` value means in `zone`, as RFC 3339 UTC; null when empty or
 * not a date. */
export function instantFromLocalInput(value: string, zone: string): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})$/.exec(value);
  if (match === null) return null;
  const [, year, month, day, hour, minute] = match.map(Number) as [number, number, number, number, number, number];
  const at = new TZDate(year, month - 1, day, hour, minute, 0, zone);
  return Number.isNaN(at.getTime()) ? null : new Date(at.getTime()).toISOString().replace(".000Z", "Z");
}
