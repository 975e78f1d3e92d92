import type { ReactNode } from "react";
import { useFormContext, type FieldPath } from "react-hook-form";

import { FieldError } from "../components/FieldError";
import { OPTIONAL_WHOLE, type JobForm } from "./jobForm";

const NUMBER = { valueAsNumber: true, validate: (value: number) => Number.isFinite(value) || "a number, such as 30" } as const;

const OVERLAP: { value: JobForm["policy"]["overlap"]; label: string }[] = [
  { value: "skip", label: "Skip the new run (recorded as skipped)" },
  { value: "queue_one", label: "Queue one run behind the running one" },
  { value: "allow", label: "Allow runs to overlap" },
  { value: "cancel_previous", label: "Cancel the previous run" },
];

const MISSED: { value: JobForm["policy"]["missed"]; label: string }[] = [
  { value: "run_once", label: "Run once for the whole gap" },
  { value: "run_all", label: "Run every missed occurrence" },
  { value: "skip", label: "Skip them (recorded as skipped)" },
];

/** One labelled input of the policies, its error underneath. The core checks every range. */
function Field({
  name,
  label,
  hint,
  children,
}: {
  name: FieldPath<JobForm>;
  label: string;
  hint?: string;
  children: (props: { id: string; describedBy: string; invalid: true | undefined }) => ReactNode;
}) {
  const { getFieldState, formState } = useFormContext<JobForm>();
  const { error } = getFieldState(name, formState);
  const id = `job-${name.replace(".", "-")}`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({ id, describedBy: `${id}-error`, invalid: error ? true : undefined })}
      {hint !== undefined && <span className="hint">{hint}</span>}
      <FieldError id={`${id}-error`} message={error?.message} />
    </div>
  );
}

/** Retries, overlap, missed runs, auto-disable and start jitter (issue 4's policies). */
export function PolicyFields() {
  const { register, watch } = useFormContext<JobForm>();
  const backoff = watch("policy.backoff");
  const missed = watch("policy.missed");
  return (
    <fieldset className="policies">
      <legend>Retries and policies</legend>
      <div className="row">
        <Field name="policy.maxRetries" label="Retries" hint="empty: the tenant's default">
          {({ id, describedBy, invalid }) => (
            <input id={id} inputMode="numeric" placeholder="tenant default" aria-invalid={invalid} aria-describedby={describedBy} {...register("policy.maxRetries", OPTIONAL_WHOLE)} />
          )}
        </Field>
        <Field name="policy.backoff" label="Backoff">
          {({ id, describedBy, invalid }) => (
            <select id={id} aria-invalid={invalid} aria-describedby={describedBy} {...register("policy.backoff")}>
              <option value="exponential">Exponential</option>
              <option value="fixed">Fixed</option>
            </select>
          )}
        </Field>
        <Field name="policy.backoffInitialSeconds" label={backoff === "fixed" ? "Delay (seconds)" : "First delay (seconds)"}>
          {({ id, describedBy, invalid }) => (
            <input id={id} type="number" step="any" min={0} aria-invalid={invalid} aria-describedby={describedBy} {...register("policy.backoffInitialSeconds", NUMBER)} />
          )}
        </Field>
        {backoff === "exponential" && (
          <>
            <Field name="policy.backoffMultiplier" label="Multiplier">
              {({ id, describedBy, invalid }) => (
                <input id={id} type="number" step="any" min={1} aria-invalid={invalid} aria-describedby={describedBy} {...register("policy.backoffMultiplier", NUMBER)} />
              )}
            </Field>
            <Field name="policy.backoffMaxSeconds" label="Longest delay (seconds)">
              {({ id, describedBy, invalid }) => (
                <input id={id} type="number" step="any" min={0} aria-invalid={invalid} aria-describedby={describedBy} {...register("policy.backoffMaxSeconds", NUMBER)} />
              )}
            </Field>
          </>
        )}
        <Field name="policy.retryJitter" label="Retry jitter (0–1)" hint="shortens each delay by up to this fraction">
          {({ id, describedBy, invalid }) => (
            <input id={id} type="number" step="0.05" min={0} max={1} aria-invalid={invalid} aria-describedby={describedBy} {...register("policy.retryJitter", NUMBER)} />
          )}
        </Field>
      </div>
      <div className="row">
        <Field name="policy.overlap" label="When the previous run is still going">
          {({ id, describedBy, invalid }) => (
            <select id={id} aria-invalid={invalid} aria-describedby={describedBy} {...register("policy.overlap")}>
              {OVERLAP.map((option) => <option key={option.value} value={option.value}>{option.label}</option>)}
            </select>
          )}
        </Field>
        <Field name="policy.missed" label="Missed runs (downtime, pause)">
          {({ id, describedBy, invalid }) => (
            <select id={id} aria-invalid={invalid} aria-describedby={describedBy} {...register("policy.missed")}>
              {MISSED.map((option) => <option key={option.value} value={option.value}>{option.label}</option>)}
            </select>
          )}
        </Field>
        {missed === "run_all" && (
          <Field name="policy.missedMaxRuns" label="At most (runs per gap)">
            {({ id, describedBy, invalid }) => (
              <input id={id} type="number" min={1} aria-invalid={invalid} aria-describedby={describedBy} {...register("policy.missedMaxRuns", NUMBER)} />
            )}
          </Field>
        )}
        <Field name="policy.catchUpWindowSeconds" label="Catch-up window (seconds)" hint="missed occurrences older than this are skipped, not run; empty: a day, or the schedule's period">
          {({ id, describedBy, invalid }) => (
            <input id={id} inputMode="numeric" placeholder="default" aria-invalid={invalid} aria-describedby={describedBy} {...register("policy.catchUpWindowSeconds", OPTIONAL_WHOLE)} />
          )}
        </Field>
      </div>
      <div className="row">
        <Field name="policy.autoDisableAfter" label="Disable after failures in a row" hint="0: never; empty: the tenant's default">
          {({ id, describedBy, invalid }) => (
            <input id={id} inputMode="numeric" placeholder="tenant default" aria-invalid={invalid} aria-describedby={describedBy} {...register("policy.autoDisableAfter", OPTIONAL_WHOLE)} />
          )}
        </Field>
        <label className="check">
          <input type="checkbox" {...register("policy.probation")} /> Probation: after a re-enable, one failed occurrence disables it again (instead of the full count above)
        </label>
        <Field name="policy.jitterWindowSeconds" label="Start jitter window (seconds)" hint="each run starts up to this much after its time, the same offset every run, so many jobs at :00 do not start together; empty: none">
          {({ id, describedBy, invalid }) => (
            <input id={id} inputMode="numeric" placeholder="none" aria-invalid={invalid} aria-describedby={describedBy} {...register("policy.jitterWindowSeconds", OPTIONAL_WHOLE)} />
          )}
        </Field>
      </div>
    </fieldset>
  );
}
