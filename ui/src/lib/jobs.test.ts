import { describe, expect, it } from "vitest";

import { whyNotRunning, wontRun } from "./jobs";

const enabled = { state: "enabled" as const, paused: false, tenantPaused: false, disabledReason: null, consecutiveFailures: 0 };

describe("why a job will not run", () => {
  it("says nothing for a job that runs", () => {
    expect(wontRun(enabled)).toBeNull();
    expect(wontRun({ ...enabled, consecutiveFailures: 2 })).toBeNull();
  });

  it("names an auto-disable with its streak", () => {
    expect(wontRun({ ...enabled, state: "auto_disabled", disabledReason: "auto", consecutiveFailures: 5 })).toBe("won't run: auto-disabled after 5 failures in a row");
    expect(wontRun({ ...enabled, state: "auto_disabled", disabledReason: "auto", consecutiveFailures: 1 })).toBe("won't run: auto-disabled after 1 failure in a row");
    expect(whyNotRunning({ ...enabled, state: "auto_disabled", disabledReason: "auto", consecutiveFailures: 0 })).toBe("auto-disabled after repeated failures");
  });

  it("names a person's disable with its reason, and a pause", () => {
    expect(wontRun({ ...enabled, state: "disabled", disabledReason: "maintenance window" })).toBe("won't run: disabled: maintenance window");
    expect(wontRun({ ...enabled, state: "disabled", disabledReason: null })).toBe("won't run: disabled");
    expect(wontRun({ ...enabled, paused: true })).toBe("won't run: paused");
    expect(wontRun({ ...enabled, state: "disabled", paused: true, disabledReason: null })).toBe("won't run: disabled");
  });

  it("names a paused tenant after the job's own reasons", () => {
    expect(wontRun({ ...enabled, tenantPaused: true })).toBe("won't run: tenant paused");
    expect(wontRun({ ...enabled, paused: true, tenantPaused: true })).toBe("won't run: paused");
    expect(wontRun({ ...enabled, state: "disabled", tenantPaused: true })).toBe("won't run: disabled");
  });
});
