import { useState } from "react";
import { useForm } from "react-hook-form";

import type { ConnectionStatus } from "../bindings";
import { FieldError } from "../components/FieldError";
import { commandError, commands, describeFailure, unwrap } from "../lib/commands";

interface ConnectForm {
  url: string;
  password: string;
  rememberPassword: boolean;
  executeJobs: boolean;
}

/** First start (or after "switch mode"): Local or Connected. */
export function SetupScreen({ status, onOpened }: { status: ConnectionStatus; onOpened: (status: ConnectionStatus) => void }) {
  const needsPassword = status.state === "password_required";
  return (
    <div className="setup">
      <h1>Welcome to Rota</h1>
      {needsPassword ? (
        <p className="lead">Enter the password for the shared database to continue.</p>
      ) : (
        <p className="lead">Choose where your schedules live. You can switch later under Connection.</p>
      )}
      <div className="setup-cards">
        {!needsPassword && <LocalCard onOpened={onOpened} />}
        <ConnectedCard status={status} onOpened={onOpened} />
      </div>
    </div>
  );
}

function LocalCard({ onOpened }: { onOpened: (status: ConnectionStatus) => void }) {
  const [demo, setDemo] = useState(true);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const open = async () => {
    setBusy(true);
    setProblem(null);
    try {
      onOpened(await unwrap(commands.openLocal(demo)));
    } catch (error) {
      setProblem(describeFailure(error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="local-title">
      <h2 id="local-title">Local</h2>
      <p>
        A complete scheduler on this computer: a SQLite file in your data folder. Jobs run while
        the app is open.
      </p>
      <label className="check">
        <input type="checkbox" checked={demo} onChange={(event) => { setDemo(event.target.checked); }} />
        Add demo tenants and jobs if the database is empty
      </label>
      <button type="button" className="primary" disabled={busy} onClick={() => void open()}>
        Use a local database
      </button>
      {problem !== null && <p className="form-error" role="alert">{problem}</p>}
    </section>
  );
}

function ConnectedCard({ status, onOpened }: { status: ConnectionStatus; onOpened: (status: ConnectionStatus) => void }) {
  const needsPassword = status.state === "password_required";
  const { register, handleSubmit, setError, formState } = useForm<ConnectForm>({
    defaultValues: {
      url: needsPassword ? (status.location ?? "") : "",
      password: "",
      rememberPassword: true,
      executeJobs: false,
    },
  });
  const [problem, setProblem] = useState<string | null>(status.problem);
  const submit = async (form: ConnectForm) => {
    setProblem(null);
    try {
      const opened = await unwrap(
        commands.connectPostgres({
          url: form.url,
          password: form.password === "" ? null : form.password,
          rememberPassword: form.rememberPassword,
          executeJobs: form.executeJobs,
        }),
      );
      onOpened(opened);
    } catch (thrown) {
      const error = commandError(thrown);
      if (error?.field === "url") {
        setError("url", { message: error.message });
      } else {
        setProblem(describeFailure(thrown));
      }
    }
  };
  return (
    <section className="card" aria-labelledby="connected-title">
      <h2 id="connected-title">Connected</h2>
      <p>
        Your team&apos;s shared Postgres database, where <code>rota serve</code> runs the jobs. The
        app is a console unless you let it execute jobs too.
      </p>
      <form onSubmit={(event) => void handleSubmit(submit)(event)} noValidate>
        <label htmlFor="connect-url">Database URL</label>
        <input
          id="connect-url"
          placeholder="postgres://rota@db.internal/rota"
          aria-invalid={formState.errors.url ? true : undefined}
          aria-describedby="connect-url-error"
          {...register("url", { required: "the database URL is required" })}
        />
        <FieldError id="connect-url-error" message={formState.errors.url?.message} />
        <label htmlFor="connect-password">Password</label>
        <input id="connect-password" type="password" autoComplete="current-password" {...register("password")} />
        <label className="check">
          <input type="checkbox" {...register("rememberPassword")} />
          Remember the password in the system keyring
        </label>
        <label className="check">
          <input type="checkbox" {...register("executeJobs")} />
          Also execute jobs in this app
        </label>
        <button type="submit" className="primary" disabled={formState.isSubmitting}>
          Connect
        </button>
        {problem !== null && <p className="form-error" role="alert">{problem}</p>}
      </form>
    </section>
  );
}
