// On a production environment, destructive actions ask first, naming the environment; elsewhere
// they happen at once. The IPC is answered by Tauri's own mock.
import { afterEach, describe, expect, it } from "vitest";
import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";

import type { ConnectionStatus, Environment, TenantRow } from "../bindings";
import { CONNECTION_KEY } from "../lib/keys";
import { TenantsScreen } from "./TenantsScreen";

const ACME: TenantRow = {
  id: "t1", name: "acme", maxConcurrent: 3, weight: 1, paused: false, jobs: 2, running: 0, queued: 0, failed24h: 0, autoDisabledJobs: 0,
  policy: { rateLimit: null, defaultMaxRetries: null, defaultAutoDisableAfter: null }, updatedAt: "2026-03-20T12:00:00Z",
};

function renderTenants(environment: Environment | null) {
  const calls: { cmd: string; args: unknown }[] = [];
  const status: ConnectionStatus = { state: "open", mode: "connected", location: "postgres://ana@db/rota", executing: false, problem: null, environment };
  mockIPC((cmd, args) => {
    calls.push({ cmd, args });
    switch (cmd) {
      case "connection_status":
        return status;
      case "whoami":
        return { role: "ana", admin: true, grants: [], singleUser: false };
      case "list_tenants":
        return [ACME];
      case "update_tenant":
        return { ...ACME, paused: true };
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(<QueryClientProvider client={client}><TenantsScreen onOpenJobs={() => undefined} /></QueryClientProvider>);
  return { calls, client };
}

const updates = (calls: { cmd: string }[]) => calls.filter((call) => call.cmd === "update_tenant").length;
/** The row's button as rendered now (the table renders its cells anew as data arrives). */
const pauseButton = () => screen.getByRole("button", { name: "Pause acme" });

afterEach(() => {
  clearMocks();
});

describe("pausing a whole tenant", () => {
  it("asks first on production, naming the environment, and does nothing on Cancel", async () => {
    const { calls, client } = renderTenants({ name: "prod-eu", colour: "#dc2626", production: true });
    await waitFor(() => { expect(pauseButton()).toHaveProperty("disabled", false); });
    // The environment is known once the connection status is read (the app sets it first).
    await waitFor(() => { expect(client.getQueryData(CONNECTION_KEY)).toBeDefined(); });
    fireEvent.click(pauseButton());
    const dialog = await screen.findByRole("alertdialog");
    expect(dialog.textContent).toContain("Pause tenant acme (all of its jobs) in the production environment prod-eu?");
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(screen.queryByRole("alertdialog")).toBeNull();
    expect(updates(calls)).toBe(0);

    fireEvent.click(pauseButton());
    fireEvent.click(await screen.findByRole("button", { name: "Yes, in prod-eu" }));
    await waitFor(() => { expect(updates(calls)).toBe(1); });
    expect(calls.find((call) => call.cmd === "update_tenant")?.args).toMatchObject({ name: "acme", changes: { paused: true } });
  });

  it("pauses at once outside production", async () => {
    const { calls, client } = renderTenants({ name: "staging", colour: "#16a34a", production: false });
    await waitFor(() => { expect(pauseButton()).toHaveProperty("disabled", false); });
    await waitFor(() => { expect(client.getQueryData(CONNECTION_KEY)).toBeDefined(); });
    fireEvent.click(pauseButton());
    await waitFor(() => { expect(updates(calls)).toBe(1); });
    expect(screen.queryByRole("alertdialog")).toBeNull();
  });
});
