import { describe, expect, it } from "vitest";

import { formatInZone, instantFromLocalInput, localInputValue, relativeTo, shortInstant } from "./time";

describe("time formatting", () => {
  it("shows an instant on the wall clock of a zone", () => {
    expect(formatInZone("2026-03-29T01:00:00Z", "Europe/Berlin")).toBe("2026-03-29 03:00");
    expect(formatInZone("2026-03-29T00:59:00Z", "Europe/Berlin")).toBe("2026-03-29 01:59");
    expect(formatInZone("2026-03-29T01:00:00Z", "America/New_York")).toBe("2026-03-28 21:00");
  });

  it("says how far away an instant is", () => {
    const now = new Date("2026-03-20T12:00:00Z");
    expect(relativeTo("2026-03-20T15:00:00Z", now)).toBe("in 3 hours");
    expect(relativeTo("2026-03-20T11:55:00Z", now)).toBe("5 minutes ago");
  });

  it("shows a dash for no instant", () => {
    expect(shortInstant(null, "UTC")).toBe("—");
  });
});

describe("datetime-local values", () => {
  it("round-trip through the viewer's zone", () => {
    const at = new Date("2026-03-29T01:30:00Z");
    expect(localInputValue(at, "Europe/Berlin")).toBe("2026-03-29T03:30");
    expect(instantFromLocalInput("2026-03-29T03:30", "Europe/Berlin")).toBe("2026-03-29T01:30:00Z");
    expect(instantFromLocalInput("", "UTC")).toBeNull();
  });
});
