import { useEffect, useRef, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import type { JobDetail, RunRow } from "../bindings";
import { FieldError } from "../components/FieldError";
import { useAccess } from "../lib/access";
import { LARGE_BACKFILL, useProductionGuard } from "../lib/environment";
import { commandError, commands, describeFailure, unwrap } from "../lib/commands";
import { count } from "../lib/count";
import { jsonProblem } from "../lib/fields";
import { AUTO_DISABLED_KEY, JOBS_KEY, JOB_RUNS_KEY, JOB_STATUS_KEY, OCCURRENCE_KEY, OPERATOR_KEY, OVERVIEW_KEY, TENANTS_KEY } from "../lib/keys";
import { isFinal, resultText, STATUS_LABEL } from "../lib/runs";
import { instantFromLocalInput, localInputValue, viewerTimeZone } from "../lib/time";

/** The name operations are recorded under: the operator setting (the OS user by default). */
export function useOperatorName(): string {
  const operator = useQuery({ queryKey: OPERATOR_KEY, queryFn: () => unwrap(commands.operatorName()), staleTime: Infinity });
  return operator.data ?? "";
}

/** Refreshes what shows a job's state after an operation on it. */
function useJobChanged() {
  const client = useQueryClient();
  return (job: JobDetail) => {
    client.setQueryData([...JOB_STATUS_KEY, job.id], job);
    for (const key of [JOBS_KEY, AUTO_DISABLED_KEY, OVERVIEW_KEY, TENANTS_KEY]) void client.invalidateQueries({ queryKey: key });
  };
}

/** How long the outcome of a run started with "Run now" stays shown before the line clears. */
export const RUN_NOW_OUTCOME_MS = 10_000;

/** The line under "Run now" while its run is followed: queued, running, then its outcome. */
export function runNowMessage(run: RunRow | undefined): string {
  if (run === undefined || run.status === "queued") return "Run queued; waiting for a free worker…";
  if (run.status === "running") return "Running…";
  const result = resultText(run);
  return `Run ${STATUS_LABEL[run.status]}${result === "" ? "" : `: ${result}`}.`;
}

/** Run now, optionally with an edited payload; guarded against double clicks (a second click
 * while the first is on its way does nothing). The line below follows the run (live updates
 * refresh it; polling is the fallback) to its end, shows the outcome, then clears. Its space is
 * kept, so nothing beside it moves. */
export function RunNow({ job, onQueued, onOpenRun }: { job: JobDetail; onQueued: (runId: string) => void; onOpenRun?: (runId: string) => void }) {
  const client = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [payload, setPayload] = useState(job.definition.payload);
  const [queued, setQueued] = useState<string | null>(null);
  const inFlight = useRef(false);
  // Shown as a disabled button, so that a click in the guard's window is not swallowed unseen.
  const [guarded, setGuarded] = useState(false);
  const denied = useAccess().why("operate", job.tenant);
  const run = useMutation({
    mutationFn: (edited: string | null) => unwrap(commands.runJobNow(job.id, edited)),
    onSuccess: (row) => {
      setQueued(row.id);
      void client.invalidateQueries({ queryKey: [...JOB_RUNS_KEY, job.id] });
      onQueued(row.id);
    },
    onSettled: () => {
      // A fast backend answers between the two clicks of a double click; keep the guard up a
      // moment longer so the second click cannot queue a second run.
      window.setTimeout(() => {
        inFlight.current = false;
        setGuarded(false);
      }, 800);
    },
  });
  const followed = useQuery({
    queryKey: [...OCCURRENCE_KEY, queued],
    queryFn: () => unwrap(commands.getOccurrence(queued ?? "")),
    enabled: queued !== null,
    refetchInterval: (query) => (query.state.data?.attempts.every((attempt) => isFinal(attempt.run.status)) === true ? false : 1_000),
  });
  // The attempt "Run now" queued (retries of it are new attempts of the same occurrence).
  const attempts = followed.data?.attempts ?? [];
  const latest = attempts.length === 0 ? undefined : attempts[attempts.length - 1]?.run;
  const finished = latest !== undefined && isFinal(latest.status);
  useEffect(() => {
    if (!finished) return;
    const timer = window.setTimeout(() => { setQueued(null); }, RUN_NOW_OUTCOME_MS);
    return () => { window.clearTimeout(timer); };
  }, [finished]);
  const problem = editing ? jsonProblem(payload) : null;
  const error = run.error === null ? null : commandError(run.error);
  const start = () => {
    if (inFlight.current || problem !== null || denied !== undefined) return;
    inFlight.current = true;
    setGuarded(true);
    setQueued(null);
    run.mutate(editing ? payload : null);
  };
  return (
    <div className="operation run-now" aria-label="Run now">
      <div className="row">
        <button type="button" className="primary" data-testid="run-now" title={denied} disabled={run.isPending || guarded || problem !== null || denied !== undefined} onClick={start}>
          {run.isPending ? "Queuing…" : "Run now"}
        </button>
        <label className="check">
          <input type="checkbox" checked={editing} onChange={(event) => { setEditing(event.target.checked); }} /> with an edited payload (this run only)
        </label>
      </div>
      {editing && (
        <div className="field">
          <label htmlFor="run-payload">Payload for this run (JSON)</label>
          <textarea id="run-payload" rows={4} className="mono" spellCheck={false} value={payload} aria-invalid={problem !== null || error?.field === "payload" ? true : undefined} aria-describedby="run-payload-error" onChange={(event) => { setPayload(event.target.value); }} />
          <FieldError id="run-payload-error" message={problem === null ? (error?.field === "payload" ? error.message : null) : `Not valid JSON: ${problem}`} />
        </div>
      )}
      {run.isError && error?.field !== "payload" && <p className="form-error" role="alert">{describeFailure(run.error)}</p>}
      <p className={finished && latest.status !== "succeeded" ? "run-now-status bad" : "run-now-status"} role="status" data-testid="run-queued" data-status={queued === null ? undefined : (latest?.status ?? "queued")}>
        {queued !== null && (
          <>
            {runNowMessage(latest)}
            {onOpenRun !== undefined && <> <button type="button" className="link" onClick={() => { onOpenRun(queued); }}>Details</button></>}
          </>
        )}
      </p>
    </div>
  );
}

/** Pause/resume, disable/re-enable (recorded under the operator's name, with probation). */
export function StateControls({ job }: { job: JobDetail }) {
  const changed = useJobChanged();
  const defaultOperator = useOperatorName();
  const [operator, setOperator] = useState<string | null>(null);
  const [probation, setProbation] = useState(false);
  const [reason, setReason] = useState("");
  const [form, setForm] = useState<"enable" | "disable" | null>(null);
  const name = operator ?? defaultOperator;
  const denied = useAccess().why("operate", job.tenant);
  const act = useMutation({
    mutationFn: (action: "pause" | "resume" | "enable" | "disable") => {
      switch (action) {
        case "pause":
          return unwrap(commands.pauseJob(job.id));
        case "resume":
          return unwrap(commands.resumeJob(job.id));
        case "enable":
          return unwrap(commands.enableJob(job.id, name, probation));
        case "disable":
          return unwrap(commands.disableJob(job.id, name, reason === "" ? null : reason));
      }
    },
    onSuccess: (updated) => {
      changed(updated);
      setForm(null);
    },
  });
  const error = act.error === null ? null : commandError(act.error);
  return (
    <div className="operation">
      <div className="buttons">
        {job.paused ? (
          <button type="button" title={denied} disabled={act.isPending || denied !== undefined} onClick={() => { act.mutate("resume"); }}>Resume</button>
        ) : (
          <button type="button" title={denied} disabled={act.isPending || denied !== undefined} onClick={() => { act.mutate("pause"); }}>Pause</button>
        )}
        {job.state === "enabled" ? (
          <button type="button" className="danger" title={denied} disabled={denied !== undefined} onClick={() => { setForm("disable"); }}>Disable…</button>
        ) : (
          <button type="button" className="primary" title={denied} disabled={denied !== undefined} onClick={() => { setForm("enable"); }}>Re-enable…</button>
        )}
      </div>
      {denied !== undefined && <p className="meta" data-testid="operate-denied">{denied}</p>}
      {form !== null && (
        <form
          className="inline-form"
          aria-label={form === "enable" ? "Re-enable job" : "Disable job"}
          onSubmit={(event) => {
            event.preventDefault();
            act.mutate(form);
          }}
        >
          <div className="row">
            <div className="field">
              <label htmlFor="operator-name">Operator (recorded)</label>
              <input id="operator-name" value={name} aria-invalid={error?.field === "operator" ? true : undefined} aria-describedby="operator-name-error" onChange={(event) => { setOperator(event.target.value); }} />
              <FieldError id="operator-name-error" message={error?.field === "operator" ? error.message : null} />
            </div>
            {form === "enable" ? (
              <label className="check">
                <input type="checkbox" checked={probation} onChange={(event) => { setProbation(event.target.checked); }} /> on probation (the next failure disables it again)
              </label>
            ) : (
              <div className="field grow">
                <label htmlFor="disable-reason">Reason</label>
                <input id="disable-reason" value={reason} onChange={(event) => { setReason(event.target.value); }} />
              </div>
            )}
          </div>
          <div className="buttons">
            <button type="submit" className={form === "enable" ? "primary" : "danger"} disabled={act.isPending}>
              {form === "enable" ? "Re-enable" : "Disable"}
            </button>
            <button type="button" onClick={() => { setForm(null); }}>Cancel</button>
          </div>
          {act.isError && error?.field !== "operator" && <p className="form-error" role="alert">{describeFailure(act.error)}</p>}
        </form>
      )}
    </div>
  );
}

/** Backfill a past range: preview how many runs it creates, then queue them. */
export function Backfill({ job }: { job: JobDetail }) {
  const client = useQueryClient();
  const zone = viewerTimeZone();
  const denied = useAccess().why("operate", job.tenant);
  const { guard, dialog } = useProductionGuard();
  // The form starts on the job's last ten occurrences, so its default fits the schedule (ten
  // minutes of an every-minute job, ten days of a daily one) and is never refused before anyone
  // typed; what the user types replaces it.
  const defaults = useQuery({
    queryKey: ["backfill-default-range", job.id],
    queryFn: async () => {
      const range = await unwrap(commands.backfillDefaultRange(job.id));
      if (range !== null) return range;
      // A schedule that never fired before now: the last day, whose preview says "0".
      const now = Date.now();
      return { from: new Date(now - 86_400_000).toISOString(), to: new Date(now).toISOString() };
    },
    staleTime: Infinity,
    retry: false,
  });
  const [typedFrom, setFrom] = useState<string | null>(null);
  const [typedTo, setTo] = useState<string | null>(null);
  const from = typedFrom ?? (defaults.data === undefined ? "" : localInputValue(new Date(defaults.data.from), zone));
  const to = typedTo ?? (defaults.data === undefined ? "" : localInputValue(new Date(defaults.data.to), zone));
  const range = { from: instantFromLocalInput(from, zone), to: instantFromLocalInput(to, zone) };
  const preview = useQuery({
    queryKey: ["backfill-preview", job.id, range.from, range.to],
    queryFn: () => unwrap(commands.previewBackfill(job.id, range.from ?? "", range.to ?? "")),
    enabled: range.from !== null && range.to !== null,
    retry: false,
  });
  const backfill = useMutation({
    mutationFn: () => unwrap(commands.backfillJob(job.id, range.from ?? "", range.to ?? "")),
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: [...JOB_RUNS_KEY, job.id] });
      void client.invalidateQueries({ queryKey: ["backfill-preview", job.id] });
    },
  });
  const error = preview.error === null ? null : commandError(preview.error);
  return (
    <fieldset className="operation" aria-label="Backfill">
      <legend>Backfill</legend>
      <div className="row">
        <div className="field">
          <label htmlFor="backfill-from">From ({zone})</label>
          <input id="backfill-from" type="datetime-local" value={from} onChange={(event) => { setFrom(event.target.value); }} aria-invalid={error?.field === "from" ? true : undefined} />
        </div>
        <div className="field">
          <label htmlFor="backfill-to">To ({zone})</label>
          <input id="backfill-to" type="datetime-local" value={to} onChange={(event) => { setTo(event.target.value); }} aria-invalid={error?.field === "to" ? true : undefined} />
        </div>
        <p className="meta" data-testid="backfill-preview" aria-live="polite">
          {preview.isFetching && "Counting…"}
          {preview.data !== undefined && !preview.isFetching && `${count(preview.data.occurrences, "occurrence")} in the range; runs already present are not queued again.`}
          {preview.isError && <span className="field-error">{describeFailure(preview.error)}</span>}
        </p>
      </div>
      <button type="button" title={denied} disabled={denied !== undefined || preview.data === undefined || preview.data.occurrences === 0 || backfill.isPending}
        onClick={() => {
          const occurrences = preview.data?.occurrences ?? 0;
          if (occurrences > LARGE_BACKFILL) guard(`Backfill ${count(occurrences, "run")} of ${job.tenant} / ${job.definition.name}`, () => { backfill.mutate(); });
          else backfill.mutate();
        }}
      >
        {preview.data === undefined ? "Backfill" : `Backfill ${count(preview.data.occurrences, "run")}`}
      </button>
      {dialog}
      {backfill.data !== undefined && (
        <p className="saved" role="status">
          Queued {count(backfill.data.queued, "run")}; {backfill.data.alreadyPresent.toLocaleString("en")} {backfill.data.alreadyPresent === 1 ? "had run or was" : "had run or were"} queued already.
        </p>
      )}
      {defaults.isError && <p className="form-error" role="alert">{describeFailure(defaults.error)}</p>}
      {backfill.isError && <p className="form-error" role="alert">{describeFailure(backfill.error)}</p>}
    </fieldset>
  );
}
