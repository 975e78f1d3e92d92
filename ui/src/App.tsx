import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import type { ConnectionStatus } from "./bindings";
import { commands, describeFailure, unwrap } from "./lib/commands";
import { useLiveUpdates } from "./lib/live";
import { confirmLeave } from "./lib/unsaved";
import { useWhoami } from "./lib/access";
import { CONNECTION_KEY } from "./lib/keys";
import { EnvironmentSwitcher } from "./components/EnvironmentSwitcher";
import { SetupScreen } from "./screens/SetupScreen";
import { TenantsScreen } from "./screens/TenantsScreen";
import { JobsScreen } from "./screens/JobsScreen";
import { JobEditor } from "./screens/JobEditor";
import { JobView, type JobTab } from "./screens/JobView";
import { ConnectionScreen } from "./screens/ConnectionScreen";
import { OverviewScreen } from "./screens/OverviewScreen";
import { TimelineScreen } from "./screens/TimelineScreen";
import { RunDetails } from "./screens/RunDetails";
import { AutoDisabledScreen } from "./screens/AutoDisabledScreen";
import { AuditScreen } from "./screens/AuditScreen";
import { CalendarsScreen } from "./screens/CalendarsScreen";
import { AccessScreen } from "./screens/AccessScreen";
import { useOperatorName } from "./screens/JobOperations";
import { CloseDialog, useBackground } from "./screens/BackgroundSection";

/** What the main area shows. */
export type View =
  | { screen: "overview" }
  | { screen: "timeline" }
  | { screen: "tenants" }
  | { screen: "jobs"; tenant?: string }
  | { screen: "job"; id: string; tab: JobTab }
  | { screen: "run"; id: string; back: View }
  | { screen: "new-job"; tenant?: string }
  | { screen: "auto-disabled" }
  | { screen: "audit" }
  | { screen: "calendars" }
  | { screen: "access" }
  | { screen: "connection" };

/** The navigation's tabs, in order. */
const TABS: { screen: "overview" | "timeline" | "tenants" | "jobs" | "calendars" | "auto-disabled" | "audit" | "access" | "connection"; label: string }[] = [
  { screen: "overview", label: "Overview" },
  { screen: "timeline", label: "Timeline" },
  { screen: "tenants", label: "Tenants" },
  { screen: "jobs", label: "Jobs" },
  { screen: "calendars", label: "Calendars" },
  { screen: "auto-disabled", label: "Auto-disabled" },
  { screen: "audit", label: "Audit" },
  { screen: "access", label: "Access" },
  { screen: "connection", label: "Connection" },
];


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
  const queryClient = useQueryClient();
  useLiveUpdates(queryClient);
  const [view, setShown] = useState<View>({ screen: "overview" });
  // Every move goes through the unsaved-changes guard.
  const setView = (next: View) => { if (confirmLeave()) setShown(next); };
  const switchMode = useMutation({
    mutationFn: () => unwrap(commands.switchMode()),
    onSuccess: onStatus,
  });
  const tab = tabOf(view);
  const operator = useOperatorName();
  // On Postgres the database role is who the audit log names; on SQLite, the operator setting.
  const whoami = useWhoami();
  const who = whoami !== undefined && !whoami.singleUser ? whoami.role : operator;
  const openRun = (id: string) => { setView({ screen: "run", id, back: view }); };
  const openJob = (id: string) => { setView({ screen: "job", id, tab: "runs" }); };
  const background = useBackground(status.mode === "local");
  const executing =
    status.mode === "local" && background.data !== undefined
      ? { app: "executing jobs", elsewhere: "jobs run in the background", nobody: "console only" }[background.data.executor]
      : status.executing
        ? "executing jobs"
        : "console only";
  return (
    <div className="shell">
      <header className="topbar">
        <span className="brand">Rota</span>
        <nav aria-label="Screens">
          {/* Access is for admins of a shared (Postgres) database; SQLite has no roles. */}
          {TABS.filter((entry) => entry.screen !== "access" || (whoami?.admin === true && !whoami.singleUser)).map((entry) => (
            <button key={entry.screen} type="button" className={tab === entry.screen ? "tab active" : "tab"} onClick={() => { setView({ screen: entry.screen }); }}>
              {entry.label}
            </button>
          ))}
        </nav>
        <span
          className="operator"
          data-testid="operator-badge"
          title={whoami !== undefined && !whoami.singleUser ? `Database role ${whoami.role}${whoami.admin ? " (admin)" : ""}: the audit log records your changes under it` : "Your changes are recorded under this name (Connection to change it)"}
        >
          {who === "" ? "" : `as ${who}`}
        </span>
        <EnvironmentSwitcher status={status} onStatus={onStatus} />
        <span className="mode" data-testid="mode-badge" title={status.location ?? undefined}>
          {status.mode === "local" ? "Local" : "Connected"}
          {" · "}
          {executing}
        </span>
      </header>
      <CloseDialog />
      <main className="content">
        {view.screen === "overview" && <OverviewScreen onOpenRun={openRun} onOpenJob={openJob} onShowAutoDisabled={() => { setView({ screen: "auto-disabled" }); }} />}
        {view.screen === "timeline" && <TimelineScreen onOpenRun={openRun} />}
        {view.screen === "tenants" && <TenantsScreen onOpenJobs={(tenant) => { setView({ screen: "jobs", tenant }); }} />}
        {view.screen === "jobs" && (
          <JobsScreen
            initialTenant={view.tenant}
            onOpen={openJob}
            onNew={(tenant) => { setView({ screen: "new-job", tenant }); }}
          />
        )}
        {view.screen === "job" && (
          <JobView
            key={view.id}
            jobId={view.id}
            tab={view.tab}
            onTab={(next) => { setView({ screen: "job", id: view.id, tab: next }); }}
            onClose={() => { setView({ screen: "jobs" }); }}
            onOpenRun={openRun}
          />
        )}
        {view.screen === "run" && <RunDetails key={view.id} runId={view.id} onOpenJob={openJob} onBack={() => { setView(view.back); }} />}
        {view.screen === "new-job" && (
          <JobEditor key="new" initialTenant={view.tenant} onClose={() => { setView({ screen: "jobs" }); }} onSaved={(id) => { setView({ screen: "job", id, tab: "definition" }); }} />
        )}
        {view.screen === "auto-disabled" && <AutoDisabledScreen onOpenJob={openJob} />}
        {view.screen === "audit" && <AuditScreen />}
        {view.screen === "calendars" && <CalendarsScreen />}
        {view.screen === "access" && <AccessScreen />}
        {view.screen === "connection" && (
          <ConnectionScreen status={status} onStatus={onStatus} onSwitchMode={() => { switchMode.mutate(); }} switching={switchMode.isPending} />
        )}
      </main>
    </div>
  );
}

/** The navigation tab a view belongs to. */
function tabOf(view: View): string {
  switch (view.screen) {
    case "job":
    case "new-job":
      return "jobs";
    case "run":
      return tabOf(view.back);
    default:
      return view.screen;
  }
}
