import { useState } from "react";
import { useForm } from "react-hook-form";

import type { TenantRow } from "../bindings";
import { FieldError } from "../components/FieldError";
import { commandError, commands, describeFailure, unwrap } from "../lib/commands";
import { WHOLE_NUMBER, fieldOf } from "../lib/fields";

interface Form {
  name: string;
  maxConcurrent: number;
  weight: number;
}

const FIELDS = ["name", "maxConcurrent", "weight"] as const;

/** Creates a tenant (`tenant` null) or changes one's limits. The core validates every field. */
export function TenantForm({ tenant, onDone }: { tenant: TenantRow | null; onDone: () => void }) {
  const { register, handleSubmit, setError, formState } = useForm<Form>({
    defaultValues: tenant ?? { name: "", maxConcurrent: 3, weight: 1 },
  });
  const [problem, setProblem] = useState<string | null>(null);
  const submit = async (form: Form) => {
    setProblem(null);
    try {
      if (tenant === null) {
        await unwrap(commands.createTenant(form));
      } else {
        await unwrap(commands.updateTenant(tenant.name, { maxConcurrent: form.maxConcurrent, weight: form.weight, paused: null }));
      }
      onDone();
    } catch (thrown) {
      const error = commandError(thrown);
      const field = error === null ? null : fieldOf(error, FIELDS);
      if (error !== null && field !== null) {
        setError(field as keyof Form, { message: error.message });
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
          <input
            id="tenant-name"
            disabled={tenant !== null}
            aria-invalid={formState.errors.name ? true : undefined}
            aria-describedby="tenant-name-error"
            {...register("name")}
          />
          <FieldError id="tenant-name-error" message={formState.errors.name?.message} />
        </div>
        <div className="field">
          <label htmlFor="tenant-max">Max concurrent runs</label>
          <input
            id="tenant-max"
            type="number"
            aria-invalid={formState.errors.maxConcurrent ? true : undefined}
            aria-describedby="tenant-max-error"
            {...register("maxConcurrent", WHOLE_NUMBER)}
          />
          <FieldError id="tenant-max-error" message={formState.errors.maxConcurrent?.message} />
        </div>
        <div className="field">
          <label htmlFor="tenant-weight">Weight</label>
          <input
            id="tenant-weight"
            type="number"
            aria-invalid={formState.errors.weight ? true : undefined}
            aria-describedby="tenant-weight-error"
            {...register("weight", WHOLE_NUMBER)}
          />
          <FieldError id="tenant-weight-error" message={formState.errors.weight?.message} />
        </div>
      </div>
      <div className="buttons">
        <button type="submit" className="primary" disabled={formState.isSubmitting}>
          {tenant === null ? "Create tenant" : "Save limits"}
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
      {problem !== null && <p className="form-error" role="alert">{problem}</p>}
    </form>
  );
}
