import { useCallback, useEffect, useMemo, useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";

import type { RunStatus, TimelineQuery } from "../bindings";
import { GHOST_STROKE, TimelineCanvas, type Drawn } from "../components/TimelineCanvas";
import { commands, describeFailure, unwrap } from "../lib/commands";
import { TENANTS_KEY, TIMELINE_KEY } from "../lib/keys";
import { ALL_STATUSES, STATUS_COLOR, STATUS_LABEL } from "../lib/runs";
import { DEFAULT_FOLLOW, PRESETS, decodeTimeline, followOf, followStepMs, followView, rowsFor, zoomView, type Follow, type GroupBy, type View } from "../lib/timelineLayout";
import { viewerTimeZone } from "../lib/time";
import { useDebounced } from "../lib/useDebounced";

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
 * outlines, zoomable from an hour to a month. While now is followed (a preset, "Now") the view
 * moves with the clock; live updates (src/lib/live.ts) add and recolour runs in place. Panning
 * or zooming with the pointer stops following, so what is being read holds still. */
export function TimelineScreen({ onOpenRun }: { onOpenRun: (runId: string) => void }) {
  const zone = viewerTimeZone();
  const [nowMs, setNowMs] = useState(() => Date.now());
  const [follow, setFollow] = useState<Follow | null>(DEFAULT_FOLLOW);
  const [view, setView] = useState<View>(() => followView(nowMs, DEFAULT_FOLLOW));
  const [groupBy, setGroupBy] = useState<GroupBy>("job");
  const [tenant, setTenant] = useState("");
  const [jobId, setJobId] = useState("");
  const [visible, setVisible] = useState<ReadonlySet<RunStatus>>(() => new Set(ALL_STATUSES));
  const [ghosts, setGhosts] = useState(true);
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
  // The draw time is for developers (and the measurement reads the canvas's data-render-ms).
  const onDrawn = useCallback((next: Drawn) => { console.debug(`timeline: drew ${next.runs} bars and ${next.ghosts} projected in ${next.ms.toFixed(1)} ms`); }, []);
  const step = followStepMs(view);
  useEffect(() => {
    const timer = window.setInterval(() => {
      const now = Date.now();
      setNowMs(now);
      if (follow !== null) setView(followView(now, follow));
    }, step);
    return () => { window.clearInterval(timer); };
  }, [follow, step]);
  const showFollowing = (next: Follow, now: number) => {
    setNowMs(now);
    setFollow(next);
    setView(followView(now, next));
  };
  // +/-: zooms around the middle; keeps following when now stays in view.
  const zoomBy = (factor: number) => {
    const next = zoomView(view, factor, (view.fromMs + view.toMs) / 2);
    setView(next);
    setFollow(follow !== null && nowMs > next.fromMs && nowMs < next.toMs ? followOf(next, nowMs) : null);
  };
  const byPointer = useCallback((next: View) => { setFollow(null); setView(next); }, []);
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
          {PRESETS.map((preset) => (
            <button
              key={preset.label}
              type="button"
              className={follow?.backMs === preset.follow.backMs && follow.aheadMs === preset.follow.aheadMs ? "chip active" : "chip"}
              onClick={() => { showFollowing(preset.follow, Date.now()); }}
            >
              {preset.label}
            </button>
          ))}
          <button type="button" className="chip" aria-label="Zoom in" onClick={() => { zoomBy(0.5); }}>+</button>
          <button type="button" className="chip" aria-label="Zoom out" onClick={() => { zoomBy(2); }}>−</button>
          <button type="button" className={follow === null ? "chip" : "chip active"} aria-pressed={follow !== null} onClick={() => { const now = Date.now(); showFollowing(followOf(view, now), now); }}>Now</button>
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
      </div>
      <div className="legend" role="group" aria-label="Statuses">
        {ALL_STATUSES.map((status) => (
          <label key={status} className="check legend-item">
            <input type="checkbox" checked={visible.has(status)} onChange={() => { toggle(status); }} />
            <span className="swatch" style={{ background: STATUS_COLOR[status] }} /> {STATUS_LABEL[status]}
          </label>
        ))}
        <label className="check legend-item">
          <input type="checkbox" checked={ghosts} onChange={(event) => { setGhosts(event.target.checked); }} />
          <span className="swatch projected" style={{ borderColor: GHOST_STROKE }} /> projected (not run yet)
        </label>
      </div>
      {timeline.isError && <p className="form-error" role="alert">{describeFailure(timeline.error)}</p>}
      {data !== undefined && rows !== null && (
        <>
          <p className="meta" data-testid="timeline-summary" aria-busy={timeline.isFetching}>
            {data.spans.ids.length.toLocaleString("en")} runs and {data.ghosts.atMs.length.toLocaleString("en")} projected in {rows.labels.length} lanes
            {data.truncated && " (the window holds more; zoom in to see all)"}
            {" · times in "}{zone}
            {" · "}<span data-testid="timeline-following">{follow === null ? "not following now (press Now)" : "following now"}</span>
            {" · Ctrl+wheel zooms, drag pans, a click opens the run"}
          </p>
          {rows.labels.length === 0 ? (
            <p className="empty">No runs in this window.</p>
          ) : (
            <TimelineCanvas data={data} rows={rows} view={view} visible={visible} ghosts={ghosts} zone={zone} nowMs={nowMs} onView={byPointer} onOpenRun={onOpenRun} onDrawn={onDrawn} />
          )}
        </>
      )}
      {data === undefined && !timeline.isError && <p>Loading…</p>}
    </section>
  );
}
