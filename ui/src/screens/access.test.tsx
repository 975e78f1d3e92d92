// What a limited role sees: controls for actions it lacks are disabled with the reason, per
// tenant, and those it has stay enabled. The IPC is answered by Tauri's own mock.
import { afterEach, describe, expect, it } from "vitest";
import { render, screen, waitFor } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import type { ReactNode } from "react";

import type { JobDetail, Whoami } from "../bindings";
import { allows, deniedReason } from "../lib/access";
import { DEFAULT_POLICY } from "./jobForm";
import { Backfill, RunNow, StateControls } from "./JobOperations";
import { TenantsScreen } from "./TenantsScreen";

const SUPPORT: Whoami = {
  role: "support_ana",
  admin: false,
  singleUser: false,
  grants: [
    { tenant: "acme", capability: "operate" },
    { tenant: "globex", capability: "view" },
  ],
};

function job(tenant: string): JobDetail {
  return {
    id: `${tenant}-job`,
    tenant,
    version: "1",
    definition: { name: "nightly", schedule: "0 3 * * *", timezone: "UTC", handler: { type: "named", name: "reports.daily" }, payload: "{}", timeoutSeconds: 60, policy: DEFAULT_POLICY },
    state: "enabled",
    disabledReason: null,
    consecutiveFailures: 0,
    paused: false,
    tenantPaused: false,
    lastError: null,
    onProbation: false,
    enabledBy: null,
    nextRunAt: null,
    lastRunAt: null,
    createdAt: "2026-03-01T00:00:00Z",
    updatedAt: "2026-03-01T00:00:00Z",
  };
}

function withBackend(whoami: Whoami, ui: ReactNode) {
  mockIPC((cmd) => {
    switch (cmd) {
      case "whoami":
        return whoami;
      case "operator_name":
        return whoami.role;
      case "list_tenants":
        return [];
      case "preview_backfill":
        return { occurrences: 3 };
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(<QueryClientProvider client={client}>{ui}</QueryClientProvider>);
}

afterEach(() => {
  clearMocks();
});

describe("capabilities", () => {
  it("include the lesser ones, per tenant; admins may everything", () => {
    expect(allows(SUPPORT, "view", "acme")).toBe(true);
    expect(allows(SUPPORT, "operate", "acme")).toBe(true);
    expect(allows(SUPPORT, "edit", "acme")).toBe(false);
    expect(allows(SUPPORT, "operate", "globex")).toBe(false);
    expect(allows(SUPPORT, "view", "initech")).toBe(false);
    expect(allows(SUPPORT, "admin", null)).toBe(false);
    expect(allows({ ...SUPPORT, admin: true, grants: [] }, "admin", null)).toBe(true);
    expect(allows(undefined, "view", "acme")).toBe(false);
  });

  it("say what the role has and what the action needs", () => {
    expect(deniedReason(SUPPORT, "operate", "globex")).toBe("Your role support_ana may view in tenant globex; this needs operate.");
    expect(deniedReason(SUPPORT, "view", "initech")).toBe("Your role support_ana has no access to tenant initech; this needs view.");
    expect(deniedReason(SUPPORT, "operate", "acme")).toBeNull();
  });
});

describe("a limited role's controls", () => {
  it("disables run now, pause, disable and backfill where the role only views", async () => {
    withBackend(SUPPORT, <><RunNow job={job("globex")} onQueued={() => undefined} /><StateControls job={job("globex")} /><Backfill job={job("globex")} /></>);
    const reason = "Your role support_ana may view in tenant globex; this needs operate.";
    await waitFor(() => { expect(screen.getByTestId("operate-denied").textContent).toBe(reason); });
    for (const name of ["Run now", "Pause", "Disable…", /^Backfill/]) {
      const button = screen.getByRole("button", { name });
      expect(button).toHaveProperty("disabled", true);
      expect(button.getAttribute("title")).toBe(reason);
    }
  });

  it("keeps them where the role operates", async () => {
    withBackend(SUPPORT, <><RunNow job={job("acme")} onQueued={() => undefined} /><StateControls job={job("acme")} /></>);
    await waitFor(() => { expect(screen.getByRole("button", { name: "Run now" })).toHaveProperty("disabled", false); });
    expect(screen.getByRole("button", { name: "Pause" })).toHaveProperty("disabled", false);
    expect(screen.getByRole("button", { name: "Disable…" })).toHaveProperty("disabled", false);
    expect(screen.queryByTestId("operate-denied")).toBeNull();
  });

  it("disables tenant settings for anyone but an admin", async () => {
    withBackend(SUPPORT, <TenantsScreen onOpenJobs={() => undefined} />);
    const create = screen.getByRole("button", { name: "New tenant" });
    await waitFor(() => { expect(create.getAttribute("title")).toBe("Only admins may do this; you are support_ana."); });
    expect(create).toHaveProperty("disabled", true);
  });

  it("leaves everything enabled for an admin", async () => {
    withBackend({ role: "dana", admin: true, singleUser: true, grants: [] }, <><TenantsScreen onOpenJobs={() => undefined} /><StateControls job={job("globex")} /></>);
    await waitFor(() => { expect(screen.getByRole("button", { name: "New tenant" })).toHaveProperty("disabled", false); });
    expect(screen.getByRole("button", { name: "Pause" })).toHaveProperty("disabled", false);
  });
});
