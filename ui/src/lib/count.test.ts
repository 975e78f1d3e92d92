import { describe, expect, it } from "vitest";

import { count, noun } from "./count";

describe("counts in words", () => {
  it("uses the singular for one and the plural otherwise", () => {
    expect(count(1, "run")).toBe("1 run");
    expect(count(0, "run")).toBe("0 runs");
    expect(count(2, "run")).toBe("2 runs");
    expect(count(1_000, "occurrence")).toBe("1,000 occurrences");
  });

  it("keeps an adjective between number and noun", () => {
    expect(count(1, "failure", { adjective: "consecutive" })).toBe("1 consecutive failure");
    expect(count(5, "failure", { adjective: "consecutive" })).toBe("5 consecutive failures");
  });

  it("knows irregular plurals and takes one it does not know", () => {
    expect(count(3, "entry")).toBe("3 entries");
    expect(count(1, "entry")).toBe("1 entry");
    expect(count(2, "child", { plural: "children" })).toBe("2 children");
    expect(noun(1, "child", "children")).toBe("child");
  });
});
