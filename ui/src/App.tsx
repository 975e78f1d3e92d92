import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import type { ConnectionStatus } from "./bindings";
import { commands, describeFailure, unwrap } from "./lib/commands";
import { SetupScreen } from "./screens/SetupScreen";
import { TenantsScreen } from "./screens/TenantsScreen";
import { JobsScreen } from "./screens/JobsScreen";
import { JobEditor } from "./screens/JobEditor";
import { ConnectionScreen } from "./screens/ConnectionScreen";

/** What the main area shows. */
export type View =
  | { screen: "tenants" }
  | { screen: "jobs"; tenant?: string }
  | { screen: "job"; id: string }
  | { screen: "new-job"; tenant?: string }
  | { screen: "connection" };

export const CONNECTION_KEY = ["connection"] as const;

export function App() {
  const queryClient = useQueryClient();
  const connection = useQuery({
    queryKey: CONNECTION_KEY,
    queryFn: () => unwrap(commands.openSavedConnection()),
    staleTime: Infinity,
  });
  const setStatus = (status: ConnectionStatus) => {
    queryClient.setQueryData(CONNECTION_KEY, status);
    // Everything else belongs to the previous database.
    void queryClient.invalidateQueries({ predicate: (query) => query.queryKey[0] !== "connection" });
  };

  if (connection.isPending) {
    return <div className="splash">Opening Rota…</div>;
  }
  if (connection.isError) {
    return (
      <div className="splash error" role="alert">
        {describeFailure(connection.error)}
      </div>
    );
  }
  if (connection.data.state !== "open") {
    return <SetupScreen status={connection.data} onOpened={setStatus} />;
  }
  return <Shell status={connection.data} onStatus={setStatus} />;
}

function Shell({ status, onStatus }: { status: ConnectionStatus; onStatus: (status: ConnectionStatus) => void }) {
  const [view, setView] = useState<View>({ screen: "tenants" });
  const switchMode = useMutation({
    mutationFn: () => unwrap(commands.switchMode()),
    onSuccess: onStatus,
  });
  const tab = view.screen === "job" || view.screen === "new-job" ? "jobs" : view.screen;
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">Rota</span>
        <nav aria-label="Screens">
          <button type="button" className={tab === "tenants" ? "tab active" : "tab"} onClick={() => { setView({ screen: "tenants" }); }}>
            Tenants
          </button>
          <button type="button" className={tab === "jobs" ? "tab active" : "tab"} onClick={() => { setView({ screen: "jobs" }); }}>
            Jobs
          </button>
          <button type="button" className={tab === "connection" ? "tab active" : "tab"} onClick={() => { setView({ screen: "connection" }); }}>
            Connection
          </button>
        </nav>
        <span className="mode" data-testid="mode-badge" title={status.location ?? undefined}>
          {status.mode === "local" ? "Local" : "Connected"}
          {" · "}
          {status.executing ? "executing jobs" : "console only"}
        </span>
      </header>
      <main className="content">
        {view.screen === "tenants" && <TenantsScreen onOpenJobs={(tenant) => { setView({ screen: "jobs", tenant }); }} />}
        {view.screen === "jobs" && (
          <JobsScreen
            initialTenant={view.tenant}
            onOpen={(id) => { setView({ screen: "job", id }); }}
            onNew={(tenant) => { setView({ screen: "new-job", tenant }); }}
          />
        )}
        {view.screen === "job" && (
          <JobEditor key={view.id} jobId={view.id} onClose={() => { setView({ screen: "jobs" }); }} onSaved={(id) => { setView({ screen: "job", id }); }} />
        )}
        {view.screen === "new-job" && (
          <JobEditor key="new" initialTenant={view.tenant} onClose={() => { setView({ screen: "jobs" }); }} onSaved={(id) => { setView({ screen: "job", id }); }} />
        )}
        {view.screen === "connection" && (
          <ConnectionScreen status={status} onStatus={onStatus} onSwitchMode={() => { switchMode.mutate(); }} switching={switchMode.isPending} />
        )}
      </main>
    </div>
  );
}
