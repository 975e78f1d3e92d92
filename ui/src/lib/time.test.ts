import { afterEach, describe, expect, it, vi } from "vitest";

import { formatInZone, instantFromLocalInput, instantWithZone, jobInstant, localInputValue, relativeTo, shortInstant, viewerTimeZone, zoned } from "./time";

afterEach(() => {
  vi.restoreAllMocks();
});

describe("time formatting", () => {
  it("shows an instant on the wall clock of a zone", () => {
    expect(formatInZone("2026-03-29T01:00:00Z", "Europe/Berlin")).toBe("2026-03-29 03:00");
    expect(formatInZone("2026-03-29T00:59:00Z", "Europe/Berlin")).toBe("2026-03-29 01:59");
    expect(formatInZone("2026-03-29T01:00:00Z", "America/New_York")).toBe("2026-03-28 21:00");
  });

  it("names the zone after an instant shown outside a zoned table", () => {
    expect(instantWithZone("2026-12-08T01:30:00Z", "Europe/Berlin")).toBe("2026-12-08 02:30 Europe/Berlin");
    expect(instantWithZone("2026-12-08T01:30:00Z", "UTC")).toBe("2026-12-08 01:30 UTC");
  });

  it("shows a job's instant in the job's zone, with the viewer's beside it where they differ", () => {
    // The job header bug: a Berlin job's 02:30 next run was shown as 01:30 (UTC) after its zone.
    expect(jobInstant("2026-12-08T01:30:00Z", "Europe/Berlin", "UTC")).toBe("2026-12-08 02:30 Europe/Berlin (01:30 UTC)");
    expect(jobInstant("2026-12-08T01:30:00Z", "Europe/Berlin", "Europe/Berlin")).toBe("2026-12-08 02:30 Europe/Berlin");
    // Another day in the viewer's zone: the date is repeated.
    expect(jobInstant("2026-12-08T01:30:00Z", "Europe/Berlin", "America/New_York")).toBe("2026-12-08 02:30 Europe/Berlin (2026-12-07 20:30 America/New_York)");
    // Two names for one clock need only one.
    expect(jobInstant("2026-12-08T01:30:00Z", "Etc/UTC", "UTC")).toBe("2026-12-08 01:30 Etc/UTC");
  });

  it("labels headers and axes with their zone", () => {
    expect(zoned("Next run", "Europe/Berlin")).toBe("Next run (Europe/Berlin)");
  });

  it("says how far away an instant is", () => {
    const now = new Date("2026-03-20T12:00:00Z");
    expect(relativeTo("2026-03-20T15:00:00Z", now)).toBe("in 3 hours");
    expect(relativeTo("2026-03-20T11:55:00Z", now)).toBe("5 minutes ago");
  });

  it("shows a cell's instant in the column's zone, or a dash for none", () => {
    expect(shortInstant(null, "UTC")).toBe("—");
    expect(shortInstant("2026-12-08T01:30:00Z", "Asia/Tokyo")).toBe("2026-12-08 10:30");
  });

  it("takes the viewer's zone from the system, UTC when it names none", () => {
    const real = Intl.DateTimeFormat().resolvedOptions();
    const spy = vi.spyOn(Intl.DateTimeFormat.prototype, "resolvedOptions");
    spy.mockReturnValue({ ...real, timeZone: "Asia/Kolkata" });
    expect(viewerTimeZone()).toBe("Asia/Kolkata");
    spy.mockReturnValue({ ...real, timeZone: "" });
    expect(viewerTimeZone()).toBe("UTC");
  });
});

describe("datetime-local values", () => {
  it("shows an instant as a datetime-local value in a zone", () => {
    expect(localInputValue(new Date("2026-03-29T01:30:00Z"), "Europe/Berlin")).toBe("2026-03-29T03:30");
  });

  it("reads a datetime-local value in a zone back as the instant, null when empty", () => {
    expect(instantFromLocalInput("2026-03-29T03:30", "Europe/Berlin")).toBe("2026-03-29T01:30:00Z");
    expect(instantFromLocalInput("", "UTC")).toBeNull();
    expect(instantFromLocalInput("tomorrow", "UTC")).toBeNull();
  });
});
