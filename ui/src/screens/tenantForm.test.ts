import { describe, expect, it } from "vitest";

import type { TenantRow } from "../bindings";
import { EMPTY_TENANT, rateLimitProblem, tenantFieldOf, tenantForm, tenantPolicyInput } from "./tenantForm";

const ROW: TenantRow = {
  id: "t1", name: "acme", maxConcurrent: 3, weight: 2, paused: false, jobs: 0, running: 0, queued: 0,
  failed24h: 0, autoDisabledJobs: 0, updatedAt: "2026-03-20T12:00:00Z",
  policy: { rateLimit: { count: 60, windowSeconds: 60 }, defaultMaxRetries: 2, defaultAutoDisableAfter: 0 },
};

describe("tenant form", () => {
  it("round-trips the rate limit and the defaults (0 stays 0, not the default)", () => {
    expect(tenantPolicyInput(tenantForm(ROW))).toEqual(ROW.policy);
  });

  it("sends no rate limit and Rota's defaults when the inputs are empty", () => {
    expect(tenantPolicyInput(EMPTY_TENANT)).toEqual({ rateLimit: null, defaultMaxRetries: null, defaultAutoDisableAfter: null });
  });

  it("wants both halves of a rate limit, as whole numbers", () => {
    expect(rateLimitProblem({ ...EMPTY_TENANT, rateCount: "10" })).toMatch(/both/);
    expect(rateLimitProblem({ ...EMPTY_TENANT, rateCount: "10", rateWindowSeconds: "1.5" })).toMatch(/whole/);
    expect(rateLimitProblem({ ...EMPTY_TENANT, rateCount: "10", rateWindowSeconds: "60" })).toBeNull();
    expect(rateLimitProblem(EMPTY_TENANT)).toBeNull();
  });

  it("puts the core's policy errors next to their inputs", () => {
    expect(tenantFieldOf("policy.rateLimit")).toBe("rateCount");
    expect(tenantFieldOf("policy.defaultMaxRetries")).toBe("defaultMaxRetries");
    expect(tenantFieldOf("maxConcurrent")).toBe("maxConcurrent");
    expect(tenantFieldOf("policy")).toBeNull();
    expect(tenantFieldOf(null)).toBeNull();
  });
});
