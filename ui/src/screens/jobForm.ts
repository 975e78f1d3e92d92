// The job editor's form values and their conversion to the command's input. Conversion only:
// every rule is checked by the core.
import type { FieldPath } from "react-hook-form";

import type {
  BackoffKind,
  CalendarsInput,
  HandlerInput,
  JobInput,
  MissedPolicy,
  NameValue,
  OnExcluded,
  OverlapPolicy,
  PolicyInput,
} from "../bindings";

/** A job's policies as the form holds them. Optional whole numbers are text: empty means the
 * default (the tenant's, for retries and the auto-disable threshold). */
export interface PolicyForm {
  maxRetries: string;
  backoff: BackoffKind;
  backoffInitialSeconds: number;
  backoffMultiplier: number;
  backoffMaxSeconds: number;
  retryJitter: number;
  overlap: OverlapPolicy;
  missed: MissedPolicy;
  missedMaxRuns: number;
  catchUpWindowSeconds: string;
  autoDisableAfter: string;
  probation: boolean;
  jitterWindowSeconds: string;
  calendars: CalendarsForm;
}

/** The job's calendars as the form holds them: an empty only-calendar means none. */
export interface CalendarsForm {
  excludeCalendars: string[];
  onlyCalendar: string;
  onExcluded: OnExcluded;
}

/** The calendars to send: `null` when none is chosen (the preview then needs no database). */
export function calendarsInput(form: CalendarsForm): CalendarsInput | null {
  const only = form.onlyCalendar.trim();
  if (form.excludeCalendars.length === 0 && only === "") return null;
  return { excludeCalendars: form.excludeCalendars, onlyCalendar: only === "" ? null : only, onExcluded: form.onExcluded };
}

/** The policies of a new job: the core's defaults. */
export const DEFAULT_POLICY: PolicyInput = {
  maxRetries: null,
  backoff: "exponential",
  backoffInitialSeconds: 10,
  backoffMultiplier: 2,
  backoffMaxSeconds: 3600,
  retryJitter: 0.1,
  overlap: "skip",
  missed: "run_once",
  missedMaxRuns: 100,
  catchUpWindowSeconds: null,
  autoDisableAfter: null,
  probation: false,
  jitterWindowSeconds: null,
  calendars: { excludeCalendars: [], onlyCalendar: null, onExcluded: "skip" },
};

const optionalText = (value: number | null): string => (value === null ? "" : String(value));

/** An optional whole number typed in a form: `null` when empty, `undefined` when it is not a
 * whole number (the form says so before anything is sent; the core checks the range). */
export function optionalWhole(text: string): number | null | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  if (!/^\d+$/.test(trimmed)) return undefined;
  return Number(trimmed);
}

/** react-hook-form options for an optional whole-number input. */
export const OPTIONAL_WHOLE = {
  validate: (value: string) => optionalWhole(value) !== undefined || "a whole number, or empty for the default",
} as const;

/** Fractional numbers come as `number | null` from the bindings (JSON has no NaN); the core
 * never sends null for them. */
const numberOr = (value: number | null, fallback: number): number => value ?? fallback;

export function policyForm(policy: PolicyInput): PolicyForm {
  return {
    ...policy,
    backoffInitialSeconds: numberOr(policy.backoffInitialSeconds, 0),
    backoffMultiplier: numberOr(policy.backoffMultiplier, 1),
    backoffMaxSeconds: numberOr(policy.backoffMaxSeconds, 0),
    retryJitter: numberOr(policy.retryJitter, 0),
    maxRetries: optionalText(policy.maxRetries),
    catchUpWindowSeconds: optionalText(policy.catchUpWindowSeconds),
    autoDisableAfter: optionalText(policy.autoDisableAfter),
    jitterWindowSeconds: optionalText(policy.jitterWindowSeconds),
    calendars: { ...policy.calendars, onlyCalendar: policy.calendars.onlyCalendar ?? "" },
  };
}

/** The command's policy input; fields that are not whole numbers (which the form refuses
 * before saving) go as `null`. */
export function policyInput(form: PolicyForm): PolicyInput {
  const whole = (text: string) => optionalWhole(text) ?? null;
  return {
    ...form,
    maxRetries: whole(form.maxRetries),
    catchUpWindowSeconds: whole(form.catchUpWindowSeconds),
    autoDisableAfter: whole(form.autoDisableAfter),
    jitterWindowSeconds: whole(form.jitterWindowSeconds),
    calendars: calendarsInput(form.calendars) ?? { excludeCalendars: [], onlyCalendar: null, onExcluded: form.calendars.onExcluded },
  };
}

export interface JobForm {
  tenant: string;
  name: string;
  schedule: string;
  timezone: string;
  handlerType: HandlerInput["type"];
  httpMethod: string;
  httpUrl: string;
  httpHeaders: NameValue[];
  program: string;
  /** One argument per line. */
  args: string;
  env: NameValue[];
  workingDir: string;
  shell: boolean;
  /** The user the command runs as; empty: the tenant's. */
  runAs: string;
  /** Resource limits as typed; empty: the tenant's default, else the scheduler's. */
  cpuSeconds: string;
  /** A size such as 512M or 2G. */
  addressSpace: string;
  openFiles: string;
  processes: string;
  /** Text for standard input instead of the run's envelope; `null`: the envelope. */
  stdin: string | null;
  namedHandler: string;
  payload: string;
  timeoutSeconds: number;
  policy: PolicyForm;
}

export const EMPTY_JOB: JobForm = {
  tenant: "",
  name: "",
  schedule: "0 * * * *",
  timezone: "UTC",
  handlerType: "http",
  httpMethod: "POST",
  httpUrl: "",
  httpHeaders: [],
  program: "",
  args: "",
  env: [],
  workingDir: "",
  shell: false,
  runAs: "",
  cpuSeconds: "",
  addressSpace: "",
  openFiles: "",
  processes: "",
  stdin: null,
  namedHandler: "",
  payload: "{}",
  timeoutSeconds: 300,
  policy: policyForm(DEFAULT_POLICY),
};

export function formFromInput(tenant: string, input: JobInput): JobForm {
  const form: JobForm = {
    ...EMPTY_JOB,
    tenant,
    name: input.name,
    schedule: input.schedule,
    timezone: input.timezone,
    handlerType: input.handler.type,
    payload: input.payload,
    timeoutSeconds: input.timeoutSeconds,
    policy: policyForm(input.policy),
  };
  switch (input.handler.type) {
    case "http":
      return { ...form, httpMethod: input.handler.method, httpUrl: input.handler.url, httpHeaders: input.handler.headers };
    case "command":
      return {
        ...form,
        program: input.handler.program,
        args: input.handler.args.join("\n"),
        env: input.handler.env,
        workingDir: input.handler.workingDir ?? "",
        shell: input.handler.shell,
        runAs: input.handler.runAs ?? "",
        cpuSeconds: optionalText(input.handler.limits.cpuSeconds),
        addressSpace: input.handler.limits.addressSpace ?? "",
        openFiles: optionalText(input.handler.limits.openFiles),
        processes: optionalText(input.handler.limits.processes),
        stdin: input.handler.stdin,
      };
    case "named":
      return { ...form, namedHandler: input.handler.name };
  }
}

export function inputFromForm(form: JobForm): JobInput {
  let handler: HandlerInput;
  switch (form.handlerType) {
    case "http":
      handler = { type: "http", method: form.httpMethod, url: form.httpUrl, headers: form.httpHeaders };
      break;
    case "command":
      handler = {
        type: "command",
        program: form.program,
        args: form.args === "" ? [] : form.args.split("\n"),
        env: form.env,
        workingDir: form.workingDir.trim() === "" ? null : form.workingDir,
        shell: form.shell,
        runAs: form.runAs.trim() === "" ? null : form.runAs.trim(),
        limits: {
          cpuSeconds: optionalWhole(form.cpuSeconds) ?? null,
          addressSpace: form.addressSpace.trim() === "" ? null : form.addressSpace.trim(),
          openFiles: optionalWhole(form.openFiles) ?? null,
          processes: optionalWhole(form.processes) ?? null,
        },
        stdin: form.stdin,
      };
      break;
    case "named":
      handler = { type: "named", name: form.namedHandler };
      break;
  }
  return {
    name: form.name,
    schedule: form.schedule,
    timezone: form.timezone,
    handler,
    payload: form.payload,
    timeoutSeconds: form.timeoutSeconds,
    policy: policyInput(form.policy),
  };
}

const POLICY_FIELDS = Object.keys(DEFAULT_POLICY) as (keyof PolicyInput)[];

/** The form field a command error's `field` belongs to. */
export function formFieldOf(field: string): FieldPath<JobForm> | null {
  switch (field) {
    case "name":
    case "schedule":
    case "timezone":
    case "payload":
    case "timeoutSeconds":
    case "tenant":
      return field;
    case "handler":
      return "handlerType";
    case "handler.url":
      return "httpUrl";
    case "handler.method":
      return "httpMethod";
    case "handler.headers":
      return "httpHeaders";
    case "handler.program":
      return "program";
    case "handler.args":
      return "args";
    case "handler.env":
      return "env";
    case "handler.workingDir":
      return "workingDir";
    case "handler.runAs":
      return "runAs";
    case "handler.limits.cpuSeconds":
      return "cpuSeconds";
    case "handler.limits.addressSpace":
      return "addressSpace";
    case "handler.limits.openFiles":
      return "openFiles";
    case "handler.limits.processes":
      return "processes";
    case "handler.stdin":
      return "stdin";
    case "handler.name":
      return "namedHandler";
    default: {
      // `policy.<name>`: the policy inputs carry the command's names.
      const policyField = field.startsWith("policy.") ? field.slice("policy.".length) : null;
      const known = POLICY_FIELDS.find((name) => name === policyField);
      return known === undefined ? null : `policy.${known}`;
    }
  }
}
