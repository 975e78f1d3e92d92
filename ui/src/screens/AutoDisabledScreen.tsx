import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import type { DisabledJob } from "../bindings";
import { FieldError } from "../components/FieldError";
import { commandError, commands, describeFailure, unwrap } from "../lib/commands";
import { AUTO_DISABLED_KEY, JOBS_KEY, JOB_STATUS_KEY, OVERVIEW_KEY, TENANTS_KEY } from "../lib/keys";
import { relativeTo, shortInstant, viewerTimeZone, zoned } from "../lib/time";
import { useOperatorName } from "./JobOperations";

/** Jobs Rota disabled after failures, with the last error and the streak, and Re-enable. */
export function AutoDisabledScreen({ onOpenJob }: { onOpenJob: (jobId: string) => void }) {
  const jobs = useQuery({ queryKey: AUTO_DISABLED_KEY, queryFn: () => unwrap(commands.listAutoDisabled()) });
  const [enabling, setEnabling] = useState<DisabledJob | null>(null);
  const zone = viewerTimeZone();
  const now = new Date();
  return (
    <section className="panel">
      <div className="panel-head">
        <h1>Auto-disabled jobs</h1>
      </div>
      <p className="meta">Jobs Rota switched off after too many failed occurrences in a row (or a failure on probation). Re-enabling restarts the schedule from now: the time it was off causes no burst.</p>
      {jobs.isError && <p className="form-error" role="alert">{describeFailure(jobs.error)}</p>}
      {enabling !== null && <ReEnable job={enabling} onDone={() => { setEnabling(null); }} />}
      <table className="grid" data-testid="auto-disabled-table">
        <thead>
          <tr>
            <th>Job</th>
            <th>Schedule</th>
            <th className="num">Failures in a row</th>
            <th>Last error</th>
            <th>{zoned("Disabled", zone)}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {jobs.data?.map((job) => (
            <tr key={job.id} data-job={job.name}>
              <td>
                <button type="button" className="link" onClick={() => { onOpenJob(job.id); }}>
                  {job.tenant} / {job.name}
                </button>
                {job.onProbation && <> <span className="badge warn">was on probation</span></>}
              </td>
              <td>
                <code>{job.schedule}</code> ({job.timezone})
              </td>
              <td className="num bad">{job.consecutiveFailures}</td>
              <td className="last-error" data-testid="last-error">{job.lastError ?? "—"}</td>
              <td title={job.disabledAt}>
                {shortInstant(job.disabledAt, zone)} ({relativeTo(job.disabledAt, now)})
              </td>
              <td>
                <button type="button" className="primary" aria-label={`Re-enable ${job.name}`} onClick={() => { setEnabling(job); }}>
                  Re-enable…
                </button>
              </td>
            </tr>
          ))}
          {jobs.data?.length === 0 && (
            <tr>
              <td colSpan={6} className="empty">No job is auto-disabled.</td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

function ReEnable({ job, onDone }: { job: DisabledJob; onDone: () => void }) {
  const client = useQueryClient();
  const defaultOperator = useOperatorName();
  const [operator, setOperator] = useState<string | null>(null);
  const [probation, setProbation] = useState(true);
  const name = operator ?? defaultOperator;
  const enable = useMutation({
    mutationFn: () => unwrap(commands.enableJob(job.id, name, probation)),
    onSuccess: (updated) => {
      client.setQueryData([...JOB_STATUS_KEY, updated.id], updated);
      for (const key of [AUTO_DISABLED_KEY, JOBS_KEY, OVERVIEW_KEY, TENANTS_KEY]) void client.invalidateQueries({ queryKey: key });
      onDone();
    },
  });
  const error = enable.error === null ? null : commandError(enable.error);
  return (
    <form
      className="inline-form"
      aria-label="Re-enable job"
      onSubmit={(event) => {
        event.preventDefault();
        enable.mutate();
      }}
    >
      <h2>
        Re-enable {job.tenant} / {job.name}
      </h2>
      <div className="row">
        <div className="field">
          <label htmlFor="reenable-operator">Operator (recorded)</label>
          <input id="reenable-operator" value={name} aria-invalid={error?.field === "operator" ? true : undefined} aria-describedby="reenable-operator-error" onChange={(event) => { setOperator(event.target.value); }} />
          <FieldError id="reenable-operator-error" message={error?.field === "operator" ? error.message : null} />
        </div>
        <label className="check">
          <input type="checkbox" checked={probation} onChange={(event) => { setProbation(event.target.checked); }} /> on probation: the next failed occurrence disables it again at once, instead of after the usual number of failures in a row (uncheck to give it the usual number)
        </label>
      </div>
      <div className="buttons">
        <button type="submit" className="primary" disabled={enable.isPending || name.trim() === ""}>
          Re-enable
        </button>
        <button type="button" onClick={onDone}>Cancel</button>
      </div>
      {enable.isError && error?.field !== "operator" && <p className="form-error" role="alert">{describeFailure(enable.error)}</p>}
    </form>
  );
}
