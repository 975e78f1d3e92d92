import { describe, expect, it } from "vitest";

import type { JobInput } from "../bindings";
import { formFieldOf, formFromInput, inputFromForm } from "./jobForm";

const COMMAND: JobInput = {
  name: "cleanup",
  schedule: "@hourly",
  timezone: "UTC",
  handler: { type: "command", program: "/usr/local/bin/cleanup", args: ["--verbose", "--dry-run"], env: [{ name: "MODE", value: "full" }], workingDir: "/srv", shell: false },
  payload: "{}",
  timeoutSeconds: 120,
};

describe("job form conversion", () => {
  it("round-trips every handler type", () => {
    const http: JobInput = { ...COMMAND, handler: { type: "http", method: "PUT", url: "https://x.test/h", headers: [{ name: "X-Team", value: "ops" }] } };
    const named: JobInput = { ...COMMAND, handler: { type: "named", name: "reports.daily" } };
    for (const input of [COMMAND, http, named]) {
      expect(inputFromForm(formFromInput("acme", input))).toEqual(input);
    }
  });

  it("sends no working directory when the field is blank and no arguments when empty", () => {
    const form = formFromInput("acme", COMMAND);
    const input = inputFromForm({ ...form, workingDir: "  ", args: "" });
    expect(input.handler).toMatchObject({ workingDir: null, args: [] });
  });

  it("maps the command's field names to form fields", () => {
    expect(formFieldOf("timeoutSeconds")).toBe("timeoutSeconds");
    expect(formFieldOf("handler")).toBe("handlerType");
    expect(formFieldOf("handler.url")).toBe("httpUrl");
    expect(formFieldOf("limit")).toBeNull();
  });
});
