// The tenant form's values and their conversion to the commands' input. Conversion only: the
// core checks every range (a rate limit's count and window, the defaults).
import type { TenantPolicyInput, TenantRow } from "../bindings";
import { optionalWhole } from "./jobForm";

export interface TenantForm {
  name: string;
  maxConcurrent: number;
  weight: number;
  /** The rate limit: at most `rateCount` starts within `rateWindowSeconds`; both empty: none. */
  rateCount: string;
  rateWindowSeconds: string;
  /** Empty: Rota's default. */
  defaultMaxRetries: string;
  defaultAutoDisableAfter: string;
}

export const EMPTY_TENANT: TenantForm = {
  name: "",
  maxConcurrent: 3,
  weight: 1,
  rateCount: "",
  rateWindowSeconds: "",
  defaultMaxRetries: "",
  defaultAutoDisableAfter: "",
};

const text = (value: number | null | undefined): string => (value === null || value === undefined ? "" : String(value));

export function tenantForm(row: TenantRow): TenantForm {
  return {
    name: row.name,
    maxConcurrent: row.maxConcurrent,
    weight: row.weight,
    rateCount: text(row.policy.rateLimit?.count),
    rateWindowSeconds: text(row.policy.rateLimit?.windowSeconds),
    defaultMaxRetries: text(row.policy.defaultMaxRetries),
    defaultAutoDisableAfter: text(row.policy.defaultAutoDisableAfter),
  };
}

/** Whether the rate limit's two inputs go together: both set, or both empty. */
export function rateLimitProblem(form: TenantForm): string | null {
  const count = optionalWhole(form.rateCount);
  const window = optionalWhole(form.rateWindowSeconds);
  if (count === undefined || window === undefined) return "whole numbers: a count and a window in seconds";
  if ((count === null) !== (window === null)) return "give both the count and the window, or neither for no limit";
  return null;
}

export function tenantPolicyInput(form: TenantForm): TenantPolicyInput {
  const count = optionalWhole(form.rateCount) ?? null;
  const window = optionalWhole(form.rateWindowSeconds) ?? null;
  return {
    rateLimit: count === null || window === null ? null : { count, windowSeconds: window },
    defaultMaxRetries: optionalWhole(form.defaultMaxRetries) ?? null,
    defaultAutoDisableAfter: optionalWhole(form.defaultAutoDisableAfter) ?? null,
  };
}

/** The form field a command error's `field` belongs to. */
export function tenantFieldOf(field: string | null): keyof TenantForm | null {
  switch (field) {
    case "name":
    case "maxConcurrent":
    case "weight":
      return field;
    case "policy.rateLimit":
      return "rateCount";
    case "policy.defaultMaxRetries":
      return "defaultMaxRetries";
    case "policy.defaultAutoDisableAfter":
      return "defaultAutoDisableAfter";
    default:
      return null;
  }
}
