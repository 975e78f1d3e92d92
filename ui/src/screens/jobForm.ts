// The job editor's form values and their conversion to the command's input. Conversion only:
// every rule is checked by the core.
import type { HandlerInput, JobInput, NameValue } from "../bindings";

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
  namedHandler: string;
  payload: string;
  timeoutSeconds: number;
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
  namedHandler: "",
  payload: "{}",
  timeoutSeconds: 300,
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
  };
}

/** The form field a command error's `field` belongs to. */
export function formFieldOf(field: string): keyof JobForm | null {
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
    case "handler.program":
      return "program";
    case "handler.workingDir":
      return "workingDir";
    case "handler.name":
      return "namedHandler";
    default:
      return null;
  }
}
