import { useMutation } from "@tanstack/react-query";

import type { ConnectionStatus } from "../bindings";
import { commands, describeFailure, unwrap } from "../lib/commands";

/** Where the console is connected, execution on or off, and switching modes. */
export function ConnectionScreen({
  status,
  onStatus,
  onSwitchMode,
  switching,
}: {
  status: ConnectionStatus;
  onStatus: (status: ConnectionStatus) => void;
  onSwitchMode: () => void;
  switching: boolean;
}) {
  const execution = useMutation({
    mutationFn: (enabled: boolean) => unwrap(commands.setExecution(enabled)),
    onSuccess: onStatus,
  });
  return (
    <section className="panel connection">
      <h1>Connection</h1>
      <dl className="facts">
        <dt>Mode</dt>
        <dd>{status.mode === "local" ? "Local (SQLite on this computer)" : "Connected (shared Postgres)"}</dd>
        <dt>Database</dt>
        <dd><code>{status.location}</code></dd>
        <dt>Executing jobs</dt>
        <dd>{status.executing ? "yes, while the app is open" : "no, console only"}</dd>
      </dl>
      {status.mode === "connected" && (
        <label className="check">
          <input
            type="checkbox"
            checked={status.executing}
            disabled={execution.isPending}
            onChange={(event) => { execution.mutate(event.target.checked); }}
          />
          Execute jobs in this app too
        </label>
      )}
      {execution.isError && <p className="form-error" role="alert">{describeFailure(execution.error)}</p>}
      <p>
        <button type="button" onClick={onSwitchMode} disabled={switching}>
          Switch mode…
        </button>
      </p>
    </section>
  );
}
