import { describe, expect, it } from "vitest";

import { actionLabel, NOTHING_SELECTED, resultText, selectedCount, selectionInput, toggleRow } from "./bulk";

const filters = { search: "", tenant: "acme", state: "failing", handler: "" } as const;

describe("bulk selection", () => {
  it("sends ticked rows by id and 'all that match' as the filters", () => {
    const ticked = toggleRow(toggleRow(NOTHING_SELECTED, "a"), "b");
    expect(selectionInput(ticked, filters)).toEqual({ type: "ids", ids: ["a", "b"] });
    expect(selectionInput({ kind: "matching" }, filters)).toEqual({
      type: "matching",
      filters: { search: null, tenant: "acme", state: "failing", handler: null },
    });
  });

  it("unticks a ticked row, and a row ticked after 'all that match' starts a new selection", () => {
    const one = toggleRow(NOTHING_SELECTED, "a");
    expect(selectedCount(toggleRow(one, "a"), 10)).toBe(0);
    expect(selectedCount({ kind: "matching" }, 10_000)).toBe(10_000);
    expect(selectedCount(toggleRow({ kind: "matching" }, "z"), 10_000)).toBe(1);
  });
});

describe("bulk results in words", () => {
  it("counts what changed and what was in that state already", () => {
    expect(resultText({ action: "pause", selected: 6, changed: 5 })).toBe("Paused 5 jobs; 1 job was paused already.");
    expect(resultText({ action: "resume", selected: 2, changed: 2 })).toBe("Resumed 2 jobs.");
    expect(resultText({ action: "enable", selected: 3, changed: 1 })).toBe("Enabled 1 job; 2 jobs were enabled already.");
    expect(resultText({ action: "disable", selected: 10_000, changed: 10_000 })).toBe("Disabled 10,000 jobs.");
    expect(actionLabel("pause", 1)).toBe("Pause 1 job");
  });
});
