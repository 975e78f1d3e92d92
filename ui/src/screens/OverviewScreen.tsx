import { useQuery } from "@tanstack/react-query";

import { RunsTable } from "../components/RunsTable";
import { ThroughputChart } from "../components/ThroughputChart";
import type { NodeCondition } from "../bindings";
import { commands, describeFailure, unwrap } from "../lib/commands";
import { OVERVIEW_KEY } from "../lib/keys";
import { instantWithZone, relativeTo, shortInstant, viewerTimeZone, zoned } from "../lib/time";

/** The badge style of each node condition: trouble stands out, a clean stop does not. */
const NODE_CONDITION_BADGE: Record<NodeCondition, string> = { healthy: "ok", unhealthy: "warn", silent: "warn", stopped: "" };

/** What needs attention now: running and queued work, failures, auto-disabled jobs, what runs
 * next, the scheduler nodes, and throughput and lateness over 24 hours. */
export function OverviewScreen({ onOpenRun, onOpenJob, onShowAutoDisabled }: { onOpenRun: (runId: string) => void; onOpenJob: (jobId: string) => void; onShowAutoDisabled: () => void }) {
  const zone = viewerTimeZone();
  // Live updates refresh it; the interval is the fallback (and moves "x ago").
  const overview = useQuery({ queryKey: OVERVIEW_KEY, queryFn: () => unwrap(commands.overview()), refetchInterval: 15_000 });
  if (overview.isPending) return <p className="panel">Loading…</p>;
  if (overview.isError) return <p className="panel form-error" role="alert">{describeFailure(overview.error)}</p>;
  const data = overview.data;
  const nowMs = data.nowMs ?? Date.parse(data.now);
  const now = new Date(nowMs);
  const queued = data.tenants.reduce((sum, tenant) => sum + tenant.queued, 0);
  const failed = data.tenants.reduce((sum, tenant) => sum + tenant.failed24h, 0);
  const disabled = data.tenants.reduce((sum, tenant) => sum + tenant.autoDisabledJobs, 0);
  return (
    <div className="overview">
      <h1>Overview</h1>
      <section className="cards" aria-label="Summary">
        <div className="card stat" data-testid="stat-running"><span className="value">{data.running.length}</span> running now</div>
        <div className="card stat" data-testid="stat-queued"><span className="value">{queued}</span> queued</div>
        <div className={failed > 0 ? "card stat alert" : "card stat"} data-testid="stat-failed"><span className="value">{failed}</span> failed in 24 h</div>
        <button type="button" className={disabled > 0 ? "card stat alert" : "card stat"} data-testid="stat-auto-disabled" onClick={onShowAutoDisabled}>
          <span className="value">{disabled}</span> auto-disabled
        </button>
      </section>

      <section className="panel">
        <h2>Throughput and lateness, last 24 hours</h2>
        <ThroughputChart data={data} />
      </section>

      <div className="columns">
        <section className="panel">
          <h2>Queued and running per tenant</h2>
          <table className="grid compact" data-testid="overview-tenants">
            <thead>
              <tr>
                <th>Tenant</th>
                <th className="num">Running</th>
                <th className="num">Queued</th>
                <th className="num">Failed 24 h</th>
                <th className="num">Auto-disabled</th>
              </tr>
            </thead>
            <tbody>
              {data.tenants.map((tenant) => (
                <tr key={tenant.id} data-tenant={tenant.name}>
                  <td>{tenant.name}{tenant.paused && <> <span className="badge warn">paused</span></>}</td>
                  <td className="num">{tenant.running} / {tenant.maxConcurrent}</td>
                  <td className="num">{tenant.queued}</td>
                  <td className={tenant.failed24h > 0 ? "num bad" : "num"}>{tenant.failed24h}</td>
                  <td className={tenant.autoDisabledJobs > 0 ? "num bad" : "num"}>{tenant.autoDisabledJobs}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section className="panel">
          <h2>Scheduler nodes</h2>
          <table className="grid compact" data-testid="overview-nodes">
            <thead>
              <tr>
                <th>Node</th>
                <th>Version</th>
                <th className="num">Running</th>
                <th>Heartbeat</th>
                <th>Health</th>
              </tr>
            </thead>
            <tbody>
              {data.nodes.map((node) => {
                const problems = node.problems.join("\n");
                return (
                  <tr key={node.id} data-condition={node.condition}>
                    <td title={`${node.host}, pid ${node.pid}, ${node.workers} workers`}>
                      <span className="mono small">{node.id}</span>
                    </td>
                    <td>{node.version}</td>
                    <td className="num">{node.running} / {node.workers}</td>
                    <td title={instantWithZone(node.stoppedAt ?? node.heartbeatAt, zone)}>{node.stoppedAt === null ? relativeTo(node.heartbeatAt, now) : `stopped ${relativeTo(node.stoppedAt, now)}`}</td>
                    <td title={problems || undefined}>
                      <span className={`badge ${NODE_CONDITION_BADGE[node.condition]}`}>{node.condition}</span>
                      {node.problems.length > 0 && <div className="small node-problem">{node.problems[0]}</div>}
                    </td>
                  </tr>
                );
              })}
              {data.nodes.length === 0 && (
                <tr>
                  <td colSpan={5} className="empty">No scheduler has run on this database yet.</td>
                </tr>
              )}
            </tbody>
          </table>
        </section>
      </div>

      <div className="columns">
        <section className="panel">
          <h2>Next runs</h2>
          <table className="grid compact" data-testid="overview-next">
            <thead>
              <tr>
                <th>Job</th>
                <th>Schedule</th>
                <th>{zoned("Next run", zone)}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {data.nextRuns.map((next) => (
                <tr key={next.jobId}>
                  <td>
                    <button type="button" className="link" onClick={() => { onOpenJob(next.jobId); }}>{next.tenant} / {next.job}</button>
                  </td>
                  <td><code>{next.schedule}</code> <span className="meta">{next.timezone}</span></td>
                  <td title={next.timezone === zone ? undefined : instantWithZone(next.at, next.timezone)}>{shortInstant(next.at, zone)}</td>
                  <td className="meta">{relativeTo(next.at, now)}</td>
                </tr>
              ))}
              {data.nextRuns.length === 0 && (
                <tr>
                  <td colSpan={4} className="empty">No enabled, unpaused job is scheduled.</td>
                </tr>
              )}
            </tbody>
          </table>
        </section>
        <section className="panel">
          <h2>Auto-disabled</h2>
          <table className="grid compact" data-testid="overview-auto-disabled">
            <tbody>
              {data.autoDisabled.map((job) => (
                <tr key={job.id}>
                  <td>
                    <button type="button" className="link" onClick={() => { onOpenJob(job.id); }}>{job.tenant} / {job.name}</button>
                  </td>
                  <td className="bad">{job.lastError ?? ""}</td>
                  <td className="meta" title={instantWithZone(job.disabledAt, zone)}>disabled {relativeTo(job.disabledAt, now)}</td>
                </tr>
              ))}
              {data.autoDisabled.length === 0 && (
                <tr>
                  <td className="empty">None.</td>
                </tr>
              )}
            </tbody>
          </table>
        </section>
      </div>

      <section className="panel">
        <h2>Running now</h2>
        <RunsTable runs={data.running} onOpen={onOpenRun} showJob testId="overview-running" empty="Nothing is running." />
      </section>
      <section className="panel">
        <h2>Recent failures</h2>
        <RunsTable runs={data.recentFailures} onOpen={onOpenRun} showJob testId="overview-failures" empty="No failed runs." />
      </section>
    </div>
  );
}
