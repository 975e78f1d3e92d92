import { useQuery } from "@tanstack/react-query";
import { useFieldArray, useFormContext } from "react-hook-form";

import { commands, describeFailure, unwrap } from "../lib/commands";
import { NAMED_HANDLERS_KEY } from "../lib/keys";

import { FieldError } from "../components/FieldError";
import { OPTIONAL_WHOLE, type JobForm } from "./jobForm";

const METHODS = ["POST", "PUT", "PATCH", "GET", "DELETE", "HEAD"] as const;

/** What the job runs: an HTTP call, a command, or a named handler. */
export function HandlerFields() {
  const { register, watch, control, formState } = useFormContext<JobForm>();
  const errors = formState.errors;
  const type = watch("handlerType");
  const headers = useFieldArray({ control, name: "httpHeaders" });
  const env = useFieldArray({ control, name: "env" });
  return (
    <fieldset className="handler">
      <legend>Handler</legend>
      <div className="segmented" role="radiogroup" aria-label="Handler type" aria-describedby="job-handler-error">
        <label><input type="radio" value="http" {...register("handlerType")} /> HTTP</label>
        <label><input type="radio" value="command" {...register("handlerType")} /> Command</label>
        <label><input type="radio" value="named" {...register("handlerType")} /> Named handler</label>
      </div>
      <FieldError id="job-handler-error" message={errors.handlerType?.message} />

      {type === "http" && (
        <>
          <div className="row">
            <div className="field">
              <label htmlFor="job-http-method">Method</label>
              <select id="job-http-method" aria-invalid={errors.httpMethod ? true : undefined} aria-describedby="job-http-method-error" {...register("httpMethod")}>
                {METHODS.map((method) => <option key={method}>{method}</option>)}
              </select>
              <FieldError id="job-http-method-error" message={errors.httpMethod?.message} />
            </div>
            <div className="field grow">
              <label htmlFor="job-http-url">URL</label>
              <input id="job-http-url" placeholder="https://reports.internal/run" aria-invalid={errors.httpUrl ? true : undefined} aria-describedby="job-http-url-error" {...register("httpUrl")} />
              <FieldError id="job-http-url-error" message={errors.httpUrl?.message} />
            </div>
          </div>
          <NameValueList label="Headers" add="Add header" list={headers} prefix="httpHeaders" />
          <FieldError id="job-http-headers-error" message={errors.httpHeaders?.message ?? errors.httpHeaders?.root?.message} />
        </>
      )}

      {type === "command" && (
        <>
          <div className="row">
            <div className="field grow">
              <label htmlFor="job-program">{watch("shell") ? "Script (run by /bin/sh -c)" : "Program"}</label>
              <input id="job-program" className="mono" aria-invalid={errors.program ? true : undefined} aria-describedby="job-program-error" {...register("program")} />
              <FieldError id="job-program-error" message={errors.program?.message} />
            </div>
            <label className="check">
              <input type="checkbox" {...register("shell")} /> Shell script
            </label>
          </div>
          <div className="row">
            <div className="field grow">
              <label htmlFor="job-args">Arguments (one per line)</label>
              <textarea id="job-args" rows={3} className="mono" spellCheck={false} aria-invalid={errors.args ? true : undefined} aria-describedby="job-args-error" {...register("args")} />
              <FieldError id="job-args-error" message={errors.args?.message} />
            </div>
            <div className="field grow">
              <label htmlFor="job-workdir">Working directory</label>
              <input id="job-workdir" className="mono" placeholder="(the scheduler's own)" aria-invalid={errors.workingDir ? true : undefined} aria-describedby="job-workdir-error" {...register("workingDir")} />
              <FieldError id="job-workdir-error" message={errors.workingDir?.message} />
            </div>
          </div>
          <NameValueList label="Environment" add="Add variable" list={env} prefix="env" />
          <FieldError id="job-env-error" message={errors.env?.message ?? errors.env?.root?.message} />
          <CommandIsolationFields />
        </>
      )}

      {type === "named" && <NamedHandlerPicker />}
    </fieldset>
  );
}

/** Who the command runs as, its resource limits and its standard input: shown and kept, so an
 * edit of anything else never drops them. Empty fields take the tenant's defaults. */
function CommandIsolationFields() {
  const { register, watch, setValue, formState } = useFormContext<JobForm>();
  const errors = formState.errors;
  const stdin = watch("stdin");
  const limit = (name: "cpuSeconds" | "addressSpace" | "openFiles" | "processes", label: string, placeholder: string) => (
    <div className="field">
      <label htmlFor={`job-${name}`}>{label}</label>
      <input
        id={`job-${name}`}
        className="mono"
        placeholder={placeholder}
        aria-invalid={errors[name] ? true : undefined}
        aria-describedby={`job-${name}-error`}
        {...register(name, name === "addressSpace" ? {} : OPTIONAL_WHOLE)}
      />
      <FieldError id={`job-${name}-error`} message={errors[name]?.message} />
    </div>
  );
  return (
    <>
      <div className="row">
        <div className="field">
          <label htmlFor="job-run-as">Run as user</label>
          <input id="job-run-as" className="mono" placeholder="(the tenant's)" aria-invalid={errors.runAs ? true : undefined} aria-describedby="job-run-as-error" {...register("runAs")} />
          <FieldError id="job-run-as-error" message={errors.runAs?.message} />
        </div>
        {limit("cpuSeconds", "CPU seconds", "(tenant default)")}
        {limit("addressSpace", "Address space", "e.g. 512M")}
        {limit("openFiles", "Open files", "(tenant default)")}
        {limit("processes", "Processes", "(tenant default)")}
      </div>
      <div className="field grow">
        <label className="check">
          <input
            type="checkbox"
            checked={stdin !== null}
            onChange={(event) => { setValue("stdin", event.target.checked ? "" : null, { shouldDirty: true }); }}
          />{" "}
          Own standard input (instead of the run&apos;s envelope JSON)
        </label>
        {stdin !== null && (
          <textarea id="job-stdin" aria-label="Standard input" rows={3} className="mono" spellCheck={false} aria-invalid={errors.stdin ? true : undefined} aria-describedby="job-stdin-error" {...register("stdin")} />
        )}
        <FieldError id="job-stdin-error" message={errors.stdin?.message} />
      </div>
    </>
  );
}

function NameValueList({
  label,
  add,
  list,
  prefix,
}: {
  label: string;
  add: string;
  list: ReturnType<typeof useFieldArray<JobForm, "httpHeaders" | "env">>;
  prefix: "httpHeaders" | "env";
}) {
  const { register } = useFormContext<JobForm>();
  return (
    <div className="name-values">
      <span className="label">{label}</span>
      {list.fields.map((item, index) => (
        <div className="row" key={item.id}>
          <input aria-label={`${label} ${index + 1} name`} placeholder="name" {...register(`${prefix}.${index}.name` as const)} />
          <input aria-label={`${label} ${index + 1} value`} placeholder="value" {...register(`${prefix}.${index}.value` as const)} />
          <button type="button" onClick={() => { list.remove(index); }} aria-label={`Remove ${label.toLowerCase()} ${index + 1}`}>
            Remove
          </button>
        </div>
      ))}
      <button type="button" onClick={() => { list.append({ name: "", value: "" }); }}>
        {add}
      </button>
    </div>
  );
}

/** Picks a named handler from the core's list (stored definitions and built-in handlers). A
 * name that is not in the list (a job imported before its handler was defined) stays
 * selectable, so opening the editor never changes the job. */
function NamedHandlerPicker() {
  const { register, watch, formState } = useFormContext<JobForm>();
  const error = formState.errors.namedHandler;
  const current = watch("namedHandler");
  const handlers = useQuery({ queryKey: NAMED_HANDLERS_KEY, queryFn: () => unwrap(commands.listNamedHandlers()) });
  const listed = handlers.data ?? [];
  const known = listed.some((handler) => handler.name === current);
  return (
    <div className="field grow">
      <label htmlFor="job-named">Named handler</label>
      <select id="job-named" aria-invalid={error ? true : undefined} aria-describedby="job-named-error" {...register("namedHandler")}>
        <option value="">Choose a handler…</option>
        {listed.map((handler) => (
          <option key={handler.name} value={handler.name}>
            {handler.name}
            {handler.target === null ? " (built in)" : ` — ${handler.target}`}
          </option>
        ))}
        {current !== "" && !known && <option value={current}>{current} (not defined)</option>}
      </select>
      {handlers.isSuccess && listed.length === 0 && (
        <span className="hint">No named handlers are defined yet: define one with <code>rota handler set</code> or <code>rota apply</code>.</span>
      )}
      {handlers.isError && <p className="form-error" role="alert">{describeFailure(handlers.error)}</p>}
      <FieldError id="job-named-error" message={error?.message} />
    </div>
  );
}
