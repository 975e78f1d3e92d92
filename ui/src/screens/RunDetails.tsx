import { useQuery } from "@tanstack/react-query";

import type { RunAttempt } from "../bindings";
import { StatusBadge } from "../components/StatusBadge";
import { commands, describeFailure, unwrap } from "../lib/commands";
import { JOB_STATUS_KEY, OCCURRENCE_KEY } from "../lib/keys";
import { formatDuration, isFinal, TRIGGER_LABEL, WAITED_FOR_LABEL } from "../lib/runs";
import { instantWithZone, jobInstant, viewerTimeZone } from "../lib/time";

/** Every attempt of one occurrence: what ran where and when, what it printed, and why it
 * waited. Followed live while an attempt is queued or running. */
export function RunDetails({ runId, onOpenJob, onBack }: { runId: string; onOpenJob: (jobId: string) => void; onBack: () => void }) {
  const zone = viewerTimeZone();
  const occurrence = useQuery({
    queryKey: [...OCCURRENCE_KEY, runId],
    queryFn: () => unwrap(commands.getOccurrence(runId)),
    // Live updates refresh it; this is the fallback while something is still running.
    refetchInterval: (query) => (query.state.data?.attempts.every((attempt) => isFinal(attempt.run.status)) === false ? 2_000 : false),
  });
  // The occurrence is the job's: shown on the job's clock (its zone comes with the job).
  const jobId = occurrence.data?.jobId;
  const job = useQuery({
    queryKey: [...JOB_STATUS_KEY, jobId],
    queryFn: () => unwrap(commands.getJob(jobId ?? "")),
    enabled: jobId !== undefined,
  });
  if (occurrence.isPending) return <p className="panel">Loading…</p>;
  if (occurrence.isError) {
    return (
      <section className="panel">
        <p className="form-error" role="alert">{describeFailure(occurrence.error)}</p>
        <button type="button" onClick={onBack}>Back</button>
      </section>
    );
  }
  const detail = occurrence.data;
  return (
    <section className="panel" aria-label="Run details">
      <div className="panel-head">
        <h1>
          Run of {detail.tenant} / {detail.job}
        </h1>
        <div className="buttons">
          <button type="button" onClick={() => { onOpenJob(detail.jobId); }}>Open job</button>
          <button type="button" onClick={onBack}>Back</button>
        </div>
      </div>
      <dl className="facts">
        <dt>Occurrence</dt>
        <dd>
          <span data-testid="occurrence-at">{jobInstant(detail.scheduledAt, job.data?.definition.timezone ?? zone, zone)}</span> · <code>{detail.scheduledAt}</code>
        </dd>
        <dt>Idempotency key</dt>
        <dd>
          <code data-testid="idempotency-key">{detail.idempotencyKey}</code>
        </dd>
        <dt>Attempts</dt>
        <dd>{detail.attempts.length}</dd>
      </dl>
      {detail.attempts.map((attempt) => (
        <Attempt key={attempt.run.id} attempt={attempt} jobPayload={detail.jobPayload} zone={zone} />
      ))}
    </section>
  );
}

function Attempt({ attempt, jobPayload, zone }: { attempt: RunAttempt; jobPayload: string; zone: string }) {
  const { run } = attempt;
  const when = (instant: string | null) => (instant === null ? "—" : `${instantWithZone(instant, zone)} (${instant})`);
  return (
    <article className="attempt" data-testid="attempt" data-status={run.status} aria-label={`Attempt ${run.attempt}`}>
      <h2>
        Attempt {run.attempt} <StatusBadge status={run.status} /> <span className="meta">{TRIGGER_LABEL[run.trigger]}</span>
      </h2>
      <dl className="facts">
        <dt>Run id</dt>
        <dd><code>{run.id}</code></dd>
        <dt>Node</dt>
        <dd><code data-testid="attempt-node">{run.node ?? "—"}</code></dd>
        <dt>Queued</dt>
        <dd>{when(run.queuedAt)}</dd>
        <dt>Ready from</dt>
        <dd>{when(run.notBefore)}</dd>
        <dt>Started</dt>
        <dd>{when(run.startedAt)}</dd>
        <dt>Finished</dt>
        <dd>{when(run.finishedAt)}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(run.durationMs)}</dd>
        <dt>Late by</dt>
        <dd data-testid="attempt-lateness">{formatDuration(run.latenessMs)} (started minus scheduled)</dd>
        <dt>Waited for</dt>
        <dd>{run.waitedFor === null ? "nothing (started when ready)" : WAITED_FOR_LABEL[run.waitedFor]}</dd>
        {run.reason !== null && (
          <>
            <dt>Reason</dt>
            <dd>{run.reason}</dd>
          </>
        )}
        <dt>Result</dt>
        <dd>
          {run.httpStatus !== null && <>HTTP {run.httpStatus} </>}
          {run.exitCode !== null && <>exit code {run.exitCode}</>}
          {run.httpStatus === null && run.exitCode === null && "—"}
        </dd>
      </dl>
      <h3>Payload {attempt.payloadOverride === null ? "(the job's)" : "(edited for this run)"}</h3>
      <pre className="tail" data-testid="attempt-payload">{attempt.payloadOverride ?? jobPayload}</pre>
      <h3>Output (tail)</h3>
      <pre className="tail" data-testid="attempt-output">{attempt.output === null || attempt.output === "" ? "(none)" : attempt.output}</pre>
      {attempt.error !== null && (
        <>
          <h3>Error (tail)</h3>
          <pre className="tail bad" data-testid="attempt-error">{attempt.error}</pre>
        </>
      )}
    </article>
  );
}
