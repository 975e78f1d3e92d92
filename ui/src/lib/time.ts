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

/** "in 3 hours" / "5 minutes ago", relative to `now`. */
export function relativeTo(instant: string, now: Date): string {
  const at = new Date(instant);
  const distance = formatDistanceStrict(at, now);
  return at.getTime() >= now.getTime() ? `in ${distance}` : `${distance} ago`;
}

/** A short cell text for an optional instant: the time in the viewer's zone, or a dash. */
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
