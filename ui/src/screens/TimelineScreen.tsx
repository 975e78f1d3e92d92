import { useCallback, useMemo, useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";

import type { RunStatus, TimelineQuery } from "../bindings";
import { TimelineCanvas, type Drawn } from "../components/TimelineCanvas";
import { commands, describeFailure, unwrap } from "../lib/commands";
import { TENANTS_KEY, TIMELINE_KEY } from "../lib/keys";
import { ALL_STATUSES, STATUS_COLOR, STATUS_LABEL } from "../lib/runs";
import { DAY_MS, HOUR_MS, decodeTimeline, rowsFor, viewEndingNow, zoomView, type GroupBy, type View } from "../lib/timelineLayout";
import { viewerTimeZone } from "../lib/time";
import { useDebounced } from "../lib/useDebounced";

const ZOOMS: { label: string; span: number }[] = [
  { label: "1 h", span: HOUR_MS },
  { label: "6 h", span: 6 * HOUR_MS },
  { label: "1 day", span: DAY_MS },
  { label: "7 days", span: 7 * DAY_MS },
  { label: "30 days", span: 30 * DAY_MS },
];

/** The most runs one window loads. */
const WINDOW_LIMIT = 100_000;
const MINUTE = 60_000;

/** The window the backend is asked for: the view widened to whole minutes (so that small pans
 * reuse the cached window). */
function windowQuery(view: View, tenant: string, jobId: string): TimelineQuery {
  const from = Math.floor(view.fromMs / MINUTE) * MINUTE;
  const to = Math.ceil(view.toMs / MINUTE) * MINUTE;
  return {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    tenant: tenant === "" ? null : tenant,
    jobId: jobId === "" ? null : jobId,
    limit: WINDOW_LIMIT,
  };
}

/** Runs in time: lanes per job or per tenant, bars coloured by status, projected runs as
 * ghosts, zoomable from an hour to a month. */
export function TimelineScreen({ onOpenRun }: { onOpenRun: (runId: string) => void }) {
  const zone = viewerTimeZone();
  const [view, setView] = useState<View>(() => viewEndingNow(Date.now(), DAY_MS));
  const [groupBy, setGroupBy] = useState<GroupBy>("job");
  const [tenant, setTenant] = useState("");
  const [jobId, setJobId] = useState("");
  const [visible, setVisible] = useState<ReadonlySet<RunStatus>>(() => new Set(ALL_STATUSES));
  const [ghosts, setGhosts] = useState(true);
  const [drawn, setDrawn] = useState<Drawn | null>(null);
  const settled = useDebounced(view, 200);
  const query = windowQuery(settled, tenant, jobId);
  const timeline = useQuery({
    queryKey: [...TIMELINE_KEY, query],
    queryFn: async () => decodeTimeline(await unwrap(commands.timeline(query))),
    placeholderData: keepPreviousData,
    staleTime: 60_000,
  });
  const tenants = useQuery({ queryKey: TENANTS_KEY, queryFn: () => unwrap(commands.listTenants()) });
  const data = timeline.data;
  const rows = useMemo(() => (data === undefined ? null : rowsFor(data.lanes, groupBy)), [data, groupBy]);
  const onDrawn = useCallback((next: Drawn) => { setDrawn(next); }, []);
  const span = view.toMs - view.fromMs;
  const toggle = (status: RunStatus) => {
    const next = new Set(visible);
    if (next.has(status)) next.delete(status);
    else next.add(status);
    setVisible(next);
  };

  return (
    <section className="panel timeline">
      <div className="panel-head">
        <h1>Timeline</h1>
        <div className="buttons" role="group" aria-label="Zoom">
          {ZOOMS.map((zoom) => (
            <button key={zoom.label} type="button" className={Math.abs(span - zoom.span) < 1_000 ? "chip active" : "chip"} onClick={() => { setView(viewEndingNow(Date.now(), zoom.span)); }}>
              {zoom.label}
            </button>
          ))}
          <button type="button" className="chip" aria-label="Zoom in" onClick={() => { setView(zoomView(view, 0.5, (view.fromMs + view.toMs) / 2)); }}>+</button>
          <button type="button" className="chip" aria-label="Zoom out" onClick={() => { setView(zoomView(view, 2, (view.fromMs + view.toMs) / 2)); }}>−</button>
          <button type="button" className="chip" onClick={() => { setView(viewEndingNow(Date.now(), span)); }}>Now</button>
        </div>
      </div>
      <div className="filters" role="search">
        <select aria-label="Lanes" value={groupBy} onChange={(event) => { setGroupBy(event.target.value as GroupBy); }}>
          <option value="job">A lane per job</option>
          <option value="tenant">A lane per tenant</option>
        </select>
        <select aria-label="Tenant" value={tenant} onChange={(event) => { setTenant(event.target.value); setJobId(""); }}>
          <option value="">All tenants</option>
          {tenants.data?.map((row) => <option key={row.id} value={row.name}>{row.name}</option>)}
        </select>
        <select aria-label="Job" value={jobId} onChange={(event) => { setJobId(event.target.value); }}>
          <option value="">All jobs</option>
          {data?.lanes.map((lane) => <option key={lane.jobId} value={lane.jobId}>{lane.tenant} / {lane.job}</option>)}
        </select>
        <label className="check">
          <input type="checkbox" checked={ghosts} onChange={(event) => { setGhosts(event.target.checked); }} /> projected runs
        </label>
      </div>
      <div className="legend" role="group" aria-label="Statuses">
        {ALL_STATUSES.map((status) => (
          <label key={status} className="check legend-item">
            <input type="checkbox" checked={visible.has(status)} onChange={() => { toggle(status); }} />
            <span className="swatch" style={{ background: STATUS_COLOR[status] }} /> {STATUS_LABEL[status]}
          </label>
        ))}
      </div>
      {timeline.isError && <p className="form-error" role="alert">{describeFailure(timeline.error)}</p>}
      {data !== undefined && rows !== null && (
        <>
          <p className="meta" data-testid="timeline-summary" aria-busy={timeline.isFetching}>
            {data.spans.ids.length.toLocaleString("en")} runs and {data.ghosts.atMs.length.toLocaleString("en")} projected in {rows.labels.length} lanes
            {data.truncated && " (the window holds more; zoom in to see all)"}
            {drawn !== null && <> · drew {drawn.runs.toLocaleString("en")} bars in <span data-testid="render-ms">{drawn.ms.toFixed(1)}</span> ms</>}
            {" · Ctrl+wheel zooms, drag pans, a click opens the run"}
          </p>
          {rows.labels.length === 0 ? (
            <p className="empty">No runs in this window.</p>
          ) : (
            <TimelineCanvas data={data} rows={rows} view={view} visible={visible} ghosts={ghosts} zone={zone} onView={setView} onOpenRun={onOpenRun} onDrawn={onDrawn} />
          )}
        </>
      )}
      {data === undefined && !timeline.isError && <p>Loading…</p>}
    </section>
  );
}
