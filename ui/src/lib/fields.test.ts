import { describe, expect, it } from "vitest";

import type { CommandError } from "../bindings";
import { fieldOf, jsonProblem, WHOLE_NUMBER } from "./fields";

const error = (field: string | null): CommandError => ({
  code: "invalid",
  message: "m",
  field,
  cronField: null,
  span: null,
  currentVersion: null,
  forbidden: null,
});

describe("fieldOf", () => {
  it("finds the form field an error names", () => {
    expect(fieldOf(error("maxConcurrent"), ["name", "maxConcurrent"])).toBe("maxConcurrent");
  });
  it("falls back to the head of a dotted field", () => {
    expect(fieldOf(error("handler.url"), ["handler"])).toBe("handler");
  });
  it("returns null for form-level errors and unknown fields", () => {
    expect(fieldOf(error(null), ["name"])).toBeNull();
    expect(fieldOf(error("other"), ["name"])).toBeNull();
  });
});

describe("jsonProblem", () => {
  it("accepts any JSON value", () => {
    expect(jsonProblem("{}")).toBeNull();
    expect(jsonProblem('{"a": [1, 2]}')).toBeNull();
    expect(jsonProblem("42")).toBeNull();
  });
  it("explains broken JSON and empty text", () => {
    expect(jsonProblem('{"a": ')).not.toBeNull();
    expect(jsonProblem("  ")).toMatch(/empty/);
  });
});

describe("WHOLE_NUMBER", () => {
  it("accepts whole numbers and leaves ranges to the core", () => {
    expect(WHOLE_NUMBER.validate(0)).toBe(true);
    expect(WHOLE_NUMBER.validate(100_000_000)).toBe(true);
    expect(WHOLE_NUMBER.validate(Number.NaN)).toBeTypeOf("string");
    expect(WHOLE_NUMBER.validate(2.5)).toBeTypeOf("string");
    expect(WHOLE_NUMBER.validate(-1)).toBeTypeOf("string");
  });
});
