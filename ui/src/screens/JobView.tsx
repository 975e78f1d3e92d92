import { useState } from "react";
import { useQuery } from "@tanstack/react-query";

import { RunsTable } from "../components/RunsTable";
import { commands, describeFailure, unwrap } from "../lib/commands";
import { JOB_RUNS_KEY, JOB_STATUS_KEY } from "../lib/keys";
import { count } from "../lib/count";
import { wontRun } from "../lib/jobs";
import { jobInstant, relativeTo, viewerTimeZone } from "../lib/time";
import { JobEditor } from "./JobEditor";
import { Backfill, RunNow, StateControls } from "./JobOperations";
import { STATE_LABEL } from "./JobsScreen";

export type JobTab = "runs" | "definition";

/** The runs a job's list shows at first, and how many more "Show more" adds. */
const RUNS_PAGE = 50;

/** One job: its runs and operations, or its definition (the editor). */
export function JobView({ jobId, tab, onTab, onClose, onOpenRun }: { jobId: string; tab: JobTab; onTab: (tab: JobTab) => void; onClose: () => void; onOpenRun: (runId: string) => void }) {
  return (
    <div className="job-view">
      <nav className="subtabs" aria-label="Job">
        <button type="button" className={tab === "runs" ? "subtab active" : "subtab"} onClick={() => { onTab("runs"); }}>Runs</button>
        <button type="button" className={tab === "definition" ? "subtab active" : "subtab"} onClick={() => { onTab("definition"); }}>Definition</button>
      </nav>
      {tab === "runs" ? (
        <JobRuns jobId={jobId} onClose={onClose} onOpenRun={onOpenRun} />
      ) : (
        <JobEditor key={jobId} jobId={jobId} onClose={onClose} onSaved={() => undefined} />
      )}
    </div>
  );
}

function JobRuns({ jobId, onClose, onOpenRun }: { jobId: string; onClose: () => void; onOpenRun: (runId: string) => void }) {
  const zone = viewerTimeZone();
  const [limit, setLimit] = useState(RUNS_PAGE);
  const job = useQuery({ queryKey: [...JOB_STATUS_KEY, jobId], queryFn: () => unwrap(commands.getJob(jobId)) });
  const runs = useQuery({ queryKey: [...JOB_RUNS_KEY, jobId, limit], queryFn: () => unwrap(commands.listJobRuns(jobId, limit)) });
  if (job.isPending) return <p className="panel">Loading…</p>;
  if (job.isError) {
    return (
      <section className="panel">
        <p className="form-error" role="alert">{describeFailure(job.error)}</p>
        <button type="button" onClick={onClose}>Back to jobs</button>
      </section>
    );
  }
  const detail = job.data;
  const now = new Date();
  const blocked = wontRun(detail);
  return (
    <section className="panel" aria-label="Job runs">
      <div className="panel-head">
        <h1>{`${detail.tenant} / ${detail.definition.name}`}</h1>
        <button type="button" onClick={onClose}>Back to jobs</button>
      </div>
      <p className="meta" data-testid="job-status">
        <span className={`badge ${detail.state === "enabled" ? "ok" : "warn"}`}>{STATE_LABEL[detail.state]}</span>
        {detail.paused && <> · <span className="badge warn">paused</span></>}
        {detail.onProbation && <> · <span className="badge warn">on probation</span></>}
        {" · "}<code>{detail.definition.schedule}</code> ({detail.definition.timezone})
        {" · "}
        <span data-testid="job-next-run" className={blocked === null ? undefined : "wont-run"}>
          {blocked ?? (detail.nextRunAt === null ? "next run: none" : `next run ${jobInstant(detail.nextRunAt, detail.definition.timezone, zone)}, ${relativeTo(detail.nextRunAt, now)}`)}
        </span>
        {detail.consecutiveFailures > 0 && detail.state === "enabled" && <> · <span className="bad">{count(detail.consecutiveFailures, "failure")} in a row</span></>}
        {detail.enabledBy !== null && <> · enabled by {detail.enabledBy}</>}
      </p>
      {detail.lastError !== null && detail.state !== "enabled" && (
        <p className="form-error" data-testid="job-last-error">Last error: {detail.lastError}</p>
      )}
      <div className="operations">
        <RunNow job={detail} onQueued={() => undefined} onOpenRun={onOpenRun} />
        <StateControls job={detail} />
      </div>
      <h2>Runs</h2>
      {runs.isError && <p className="form-error" role="alert">{describeFailure(runs.error)}</p>}
      <RunsTable runs={runs.data ?? []} onOpen={onOpenRun} testId="job-runs" zone={detail.definition.timezone} />
      {runs.data !== undefined && runs.data.length >= limit && limit < 1000 && (
        <button type="button" onClick={() => { setLimit(Math.min(1000, limit + RUNS_PAGE * 2)); }}>Show more</button>
      )}
      <Backfill job={detail} />
    </section>
  );
}
