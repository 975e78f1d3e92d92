import { useQuery } from "@tanstack/react-query";

import { StatusBadge } from "../components/StatusBadge";
import { commands, describeFailure, unwrap } from "../lib/commands";
import { isFinal } from "../lib/runs";
import { TEST_RUN_POLL_MS, testRunMessage } from "../lib/testRun";

/** The job editor's test run, followed to its end: the engine runs it like any run of the
 * tenant (its slots, isolation and timeout), so the editor polls it (a test run is no job's
 * history, so the live feed, which follows jobs' runs, does not carry it) and stops once it
 * has ended. Shows the outcome, then what it printed and its error. */
export function TestRunPanel({ runId }: { runId: string }) {
  const run = useQuery({
    queryKey: ["run", runId],
    queryFn: () => unwrap(commands.getRun(runId)),
    refetchInterval: (query) => (query.state.data !== undefined && isFinal(query.state.data.run.status) ? false : TEST_RUN_POLL_MS),
  });
  const attempt = run.data;
  return (
    <section className="test-run" aria-label="Test run" data-testid="test-run">
      <p role="status" data-status={attempt?.run.status ?? "queued"}>
        {attempt !== undefined && <StatusBadge status={attempt.run.status} />} {testRunMessage(attempt?.run)}
      </p>
      <p className="meta">Ran the definition as it is in this form, unsaved; it is not part of the job&apos;s history and changes nothing about the job.</p>
      {run.isError && <p className="form-error" role="alert">{describeFailure(run.error)}</p>}
      {attempt?.output !== null && attempt?.output !== undefined && attempt.output !== "" && (
        <pre className="tail" data-testid="test-run-output">{attempt.output}</pre>
      )}
      {attempt?.error !== null && attempt?.error !== undefined && (
        <pre className="tail bad" data-testid="test-run-error">{attempt.error}</pre>
      )}
    </section>
  );
}
