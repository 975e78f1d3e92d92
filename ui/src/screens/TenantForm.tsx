import { useState } from "react";
import { useForm } from "react-hook-form";

import type { TenantRow } from "../bindings";
import { FieldError } from "../components/FieldError";
import { commandError, commands, describeFailure, unwrap } from "../lib/commands";
import { WHOLE_NUMBER } from "../lib/fields";
import { confirmLeave, useUnsavedChanges } from "../lib/unsaved";
import { OPTIONAL_WHOLE } from "./jobForm";
import { EMPTY_TENANT, rateLimitProblem, tenantFieldOf, tenantForm, tenantPolicyInput, type TenantForm as Form } from "./tenantForm";

/** Creates a tenant (`tenant` null) or changes one's limits, rate limit and job defaults. The
 * core validates every field. */
export function TenantForm({ tenant, onDone }: { tenant: TenantRow | null; onDone: (saved: string | null) => void }) {
  const { register, handleSubmit, setError, formState } = useForm<Form>({
    defaultValues: tenant === null ? EMPTY_TENANT : tenantForm(tenant),
  });
  const errors = formState.errors;
  useUnsavedChanges(tenant === null ? "new tenant" : `tenant ${tenant.name}`, formState.isDirty && !formState.isSubmitSuccessful);
  const [problem, setProblem] = useState<string | null>(null);
  const submit = async (form: Form) => {
    setProblem(null);
    const policy = tenantPolicyInput(form);
    try {
      if (tenant === null) {
        await unwrap(commands.createTenant({ name: form.name, maxConcurrent: form.maxConcurrent, weight: form.weight, policy }));
      } else {
        await unwrap(commands.updateTenant(tenant.name, { maxConcurrent: form.maxConcurrent, weight: form.weight, paused: null, policy }));
      }
      onDone(tenant === null ? `Created tenant ${form.name}.` : `Saved tenant ${tenant.name}.`);
    } catch (thrown) {
      const error = commandError(thrown);
      const field = error === null ? null : tenantFieldOf(error.field);
      if (error !== null && field !== null) {
        setError(field, { message: error.message }, { shouldFocus: true });
      } else {
        setProblem(describeFailure(thrown));
      }
    }
  };
  const title = tenant === null ? "New tenant" : `Edit ${tenant.name}`;
  return (
    <form className="inline-form" aria-label={title} onSubmit={(event) => void handleSubmit(submit)(event)} noValidate>
      <h2>{title}</h2>
      <div className="row">
        <div className="field">
          <label htmlFor="tenant-name">Name</label>
          <input id="tenant-name" disabled={tenant !== null} aria-invalid={errors.name ? true : undefined} aria-describedby="tenant-name-error" {...register("name")} />
          <FieldError id="tenant-name-error" message={errors.name?.message} />
        </div>
        <div className="field">
          <label htmlFor="tenant-max">Max concurrent runs</label>
          <input id="tenant-max" type="number" aria-invalid={errors.maxConcurrent ? true : undefined} aria-describedby="tenant-max-hint tenant-max-error" {...register("maxConcurrent", WHOLE_NUMBER)} />
          <span className="hint" id="tenant-max-hint">runs of this tenant at once, on all nodes; more wait queued</span>
          <FieldError id="tenant-max-error" message={errors.maxConcurrent?.message} />
        </div>
        <div className="field">
          <label htmlFor="tenant-weight">Weight</label>
          <input id="tenant-weight" type="number" aria-invalid={errors.weight ? true : undefined} aria-describedby="tenant-weight-hint tenant-weight-error" {...register("weight", WHOLE_NUMBER)} />
          <span className="hint" id="tenant-weight-hint">its share when tenants compete for workers: each turn starts up to this many of its runs (2 gets twice the turns' starts of 1)</span>
          <FieldError id="tenant-weight-error" message={errors.weight?.message} />
        </div>
      </div>
      <div className="row">
        <fieldset className="field rate-limit">
          <legend>Rate limit (empty: none)</legend>
          <span className="hint">at most this many runs start in any window of that length; the rest wait queued</span>
          <div className="row">
            <input
              id="tenant-rate-count"
              inputMode="numeric"
              aria-label="Rate limit: runs"
              placeholder="runs"
              aria-invalid={errors.rateCount ? true : undefined}
              aria-describedby="tenant-rate-error"
              {...register("rateCount", { validate: (_value, form) => rateLimitProblem(form) ?? true })}
            />
            <span>starts per</span>
            <input
              id="tenant-rate-window"
              inputMode="numeric"
              aria-label="Rate limit: window in seconds"
              placeholder="seconds"
              aria-invalid={errors.rateCount ? true : undefined}
              aria-describedby="tenant-rate-error"
              {...register("rateWindowSeconds")}
            />
            <span>seconds</span>
          </div>
          <FieldError id="tenant-rate-error" message={errors.rateCount?.message} />
        </fieldset>
        <div className="field">
          <label htmlFor="tenant-retries">Default retries</label>
          <input id="tenant-retries" inputMode="numeric" placeholder="Rota's default (0)" aria-invalid={errors.defaultMaxRetries ? true : undefined} aria-describedby="tenant-retries-error" {...register("defaultMaxRetries", OPTIONAL_WHOLE)} />
          <FieldError id="tenant-retries-error" message={errors.defaultMaxRetries?.message} />
        </div>
        <div className="field">
          <label htmlFor="tenant-auto-disable">Default auto-disable after</label>
          <input id="tenant-auto-disable" inputMode="numeric" placeholder="Rota's default (5)" aria-invalid={errors.defaultAutoDisableAfter ? true : undefined} aria-describedby="tenant-auto-disable-error" {...register("defaultAutoDisableAfter", OPTIONAL_WHOLE)} />
          <span className="hint">failures in a row; 0: never</span>
          <FieldError id="tenant-auto-disable-error" message={errors.defaultAutoDisableAfter?.message} />
        </div>
      </div>
      <div className="buttons">
        <button type="submit" className="primary" disabled={formState.isSubmitting}>
          {tenant === null ? "Create tenant" : "Save limits"}
        </button>
        <button type="button" onClick={() => { if (confirmLeave()) onDone(null); }}>
          Cancel
        </button>
      </div>
      {problem !== null && <p className="form-error" role="alert">{problem}</p>}
    </form>
  );
}
