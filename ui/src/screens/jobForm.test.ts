import { describe, expect, it } from "vitest";

import type { JobInput } from "../bindings";
import { calendarsInput, DEFAULT_POLICY, formFieldOf, formFromInput, inputFromForm, optionalWhole, policyInput } from "./jobForm";

const COMMAND: JobInput = {
  name: "cleanup",
  schedule: "@hourly",
  timezone: "UTC",
  handler: {
    type: "command",
    program: "/usr/local/bin/cleanup",
    args: ["--verbose", "--dry-run"],
    env: [{ name: "MODE", value: "full" }],
    workingDir: "/srv",
    shell: false,
    runAs: "www-data",
    limits: { cpuSeconds: 30, addressSpace: "512M", openFiles: null, processes: 64 },
    stdin: "from the crontab\n",
  },
  payload: "{}",
  timeoutSeconds: 120,
  policy: { ...DEFAULT_POLICY, maxRetries: 3, backoff: "fixed", backoffInitialSeconds: 30, overlap: "queue_one", missed: "run_all", missedMaxRuns: 7, autoDisableAfter: 0, jitterWindowSeconds: 60 },
};

describe("job form conversion", () => {
  it("round-trips every handler type", () => {
    const http: JobInput = { ...COMMAND, handler: { type: "http", method: "PUT", url: "https://x.test/h", headers: [{ name: "X-Team", value: "ops" }] } };
    const named: JobInput = { ...COMMAND, handler: { type: "named", name: "reports.daily" } };
    for (const input of [COMMAND, http, named]) {
      expect(inputFromForm(formFromInput("acme", input))).toEqual(input);
    }
  });

  it("keeps a command's run-as user, limits and stdin text through an edit", () => {
    const form = formFromInput("acme", COMMAND);
    expect(form).toMatchObject({ runAs: "www-data", cpuSeconds: "30", addressSpace: "512M", openFiles: "", processes: "64" });
    const edited = inputFromForm({ ...form, schedule: "@daily" });
    expect(edited.handler).toEqual(COMMAND.handler);
    const cleared = inputFromForm({ ...form, runAs: " ", cpuSeconds: "", addressSpace: "" });
    expect(cleared.handler).toMatchObject({ runAs: null, limits: { cpuSeconds: null, addressSpace: null, processes: 64 } });
  });

  it("sends no working directory when the field is blank and no arguments when empty", () => {
    const form = formFromInput("acme", COMMAND);
    const input = inputFromForm({ ...form, workingDir: "  ", args: "" });
    expect(input.handler).toMatchObject({ workingDir: null, args: [] });
  });

  it("round-trips the job's calendars, and sends none when none is chosen", () => {
    const calendars = { excludeCalendars: ["office", "holidays"], onlyCalendar: "closing", onExcluded: "next" as const };
    const input: JobInput = { ...COMMAND, policy: { ...COMMAND.policy, calendars } };
    const form = formFromInput("acme", input);
    expect(form.policy.calendars).toEqual({ excludeCalendars: ["office", "holidays"], onlyCalendar: "closing", onExcluded: "next" });
    expect(inputFromForm(form)).toEqual(input);
    expect(calendarsInput({ excludeCalendars: [], onlyCalendar: " ", onExcluded: "previous" })).toBeNull();
    expect(calendarsInput({ excludeCalendars: [], onlyCalendar: "closing", onExcluded: "skip" })).toEqual({ excludeCalendars: [], onlyCalendar: "closing", onExcluded: "skip" });
    expect(formFromInput("acme", COMMAND).policy.calendars.onlyCalendar).toBe("");
  });

  it("maps the command's field names to form fields", () => {
    expect(formFieldOf("timeoutSeconds")).toBe("timeoutSeconds");
    expect(formFieldOf("handler")).toBe("handlerType");
    expect(formFieldOf("handler.url")).toBe("httpUrl");
    expect(formFieldOf("handler.env")).toBe("env");
    expect(formFieldOf("handler.name")).toBe("namedHandler");
    expect(formFieldOf("handler.runAs")).toBe("runAs");
    expect(formFieldOf("handler.limits.addressSpace")).toBe("addressSpace");
    expect(formFieldOf("handler.stdin")).toBe("stdin");
    expect(formFieldOf("limit")).toBeNull();
  });

  it("puts policy errors on their own inputs, and nothing else under policy", () => {
    expect(formFieldOf("policy.backoffMultiplier")).toBe("policy.backoffMultiplier");
    expect(formFieldOf("policy.jitterWindowSeconds")).toBe("policy.jitterWindowSeconds");
    expect(formFieldOf("policy.rateLimit")).toBeNull();
    expect(formFieldOf("policy")).toBeNull();
  });

  it("reads optional whole numbers: empty is the default, anything else must be whole", () => {
    expect(optionalWhole("")).toBeNull();
    expect(optionalWhole(" 0 ")).toBe(0);
    expect(optionalWhole("12")).toBe(12);
    expect(optionalWhole("1.5")).toBeUndefined();
    expect(optionalWhole("-1")).toBeUndefined();
    expect(optionalWhole("many")).toBeUndefined();
  });

  it("sends the defaults for empty policy inputs and numbers for the rest", () => {
    const form = formFromInput("acme", COMMAND);
    expect(form.policy.maxRetries).toBe("3");
    expect(form.policy.catchUpWindowSeconds).toBe("");
    const input = policyInput({ ...form.policy, maxRetries: "", autoDisableAfter: "0", backoffMultiplier: 1.5 });
    expect(input).toMatchObject({ maxRetries: null, autoDisableAfter: 0, backoffMultiplier: 1.5, catchUpWindowSeconds: null });
  });
});
