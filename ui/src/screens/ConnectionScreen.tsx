import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useForm } from "react-hook-form";

import type { ConnectionStatus } from "../bindings";
import { FieldError } from "../components/FieldError";
import { commandError, commands, describeFailure, unwrap } from "../lib/commands";
import { OPERATOR_KEY } from "../lib/keys";
import { useOperatorName } from "./JobOperations";
import { EnvironmentsSection } from "./EnvironmentsSection";
import { BackgroundSection } from "./BackgroundSection";

/** The operator name the console's changes are recorded under in the audit log, saved in the
 * console's settings. Blank goes back to the OS user name. The core checks the name. */
function OperatorSetting() {
  const queryClient = useQueryClient();
  const current = useOperatorName();
  const { register, handleSubmit, setError, formState, reset } = useForm<{ name: string }>({ values: { name: current } });
  const save = useMutation({
    mutationFn: (name: string | null) => unwrap(commands.setOperatorName(name)),
    onSuccess: (name) => {
      queryClient.setQueryData(OPERATOR_KEY, name);
      reset({ name });
    },
    onError: (thrown) => {
      const error = commandError(thrown);
      if (error?.field === "operator") setError("name", { message: error.message });
    },
  });
  const error = commandError(save.error);
  return (
    <form
      className="inline-form"
      aria-label="Operator"
      noValidate
      onSubmit={(event) => void handleSubmit(({ name }) => { save.mutate(name.trim() === "" ? null : name); })(event)}
    >
      <h2>Operator</h2>
      <p className="hint">Edits, pauses and re-enables made from this console are recorded in the audit log under this name.</p>
      <div className="row">
        <div className="field grow">
          <label htmlFor="operator-setting">Operator name</label>
          <input id="operator-setting" aria-invalid={formState.errors.name ? true : undefined} aria-describedby="operator-setting-error" {...register("name")} />
          <FieldError id="operator-setting-error" message={formState.errors.name?.message} />
        </div>
      </div>
      <div className="buttons">
        <button type="submit" className="primary" disabled={save.isPending}>Save name</button>
        <button type="button" disabled={save.isPending} onClick={() => { save.mutate(null); }}>Use my OS user name</button>
      </div>
      {save.isSuccess && <p className="saved" role="status">Saved: changes are recorded as {save.data}.</p>}
      {save.isError && error?.field !== "operator" && <p className="form-error" role="alert">{describeFailure(save.error)}</p>}
    </form>
  );
}

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
        {status.mode !== "local" && (
          <>
            <dt>Executing jobs</dt>
            <dd>{status.executing ? "yes, while the app is open" : "no, console only"}</dd>
          </>
        )}
      </dl>
      {status.mode === "local" && <BackgroundSection />}
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
      <EnvironmentsSection onStatus={onStatus} />
      <OperatorSetting />
    </section>
  );
}
