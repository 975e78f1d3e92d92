// Live updates: the backend emits `console-changed` (src-tauri/src/live.rs) when the engines
// wrote something; this patches the TanStack Query caches in place (the timeline's columns, a
// job's runs) instead of reloading big tables, and invalidates only the small views that are
// cheaper to read again (the overview, the tenants' counts, one job's list when it has a new run).
import { useEffect } from "react";
import type { Query, QueryClient } from "@tanstack/react-query";

import { events, type ConsoleChanged, type RunChange, type RunRow, type TimelineQuery } from "../bindings";
import type { Timeline } from "./timelineLayout";
import { AUTO_DISABLED_KEY, JOBS_KEY, JOB_RUNS_KEY, JOB_STATUS_KEY, OCCURRENCE_KEY, OVERVIEW_KEY, TENANTS_KEY, TIMELINE_KEY } from "./keys";

/** Folds run changes into a timeline window: known runs take their new place and colour, new
 * runs that match the window's filters join it (a new job gets a lane at the bottom). Returns
 * the same object when nothing in the window changed. */
export function patchTimeline(data: Timeline, query: TimelineQuery, all: RunChange[]): Timeline {
  const changes = all.map((change) => ({ ...change, beginMs: change.beginMs ?? 0, endMs: change.endMs ?? 0 }));
  const relevant = changes.filter(
    (change) =>
      (query.tenant === null || query.tenant === "" || change.tenant === query.tenant) &&
      (query.jobId === null || query.jobId === "" || change.jobId === query.jobId) &&
      change.endMs >= data.fromMs &&
      change.beginMs < data.toMs,
  );
  if (relevant.length === 0) return data;
  const spans = {
    ids: [...data.spans.ids],
    lane: [...data.spans.lane],
    beginMs: [...data.spans.beginMs],
    endMs: [...data.spans.endMs],
    status: [...data.spans.status],
    scheduledMs: [...data.spans.scheduledMs],
    startedMs: [...data.spans.startedMs],
  };
  const lanes = [...data.lanes];
  const laneOf = new Map(lanes.map((lane, index) => [lane.jobId, index]));
  const position = new Map(spans.ids.map((id, index) => [id, index]));
  for (const change of relevant) {
    let lane = laneOf.get(change.jobId);
    if (lane === undefined) {
      lane = lanes.length;
      lanes.push({ jobId: change.jobId, job: change.job, tenant: change.tenant });
      laneOf.set(change.jobId, lane);
    }
    const index = position.get(change.id);
    if (index === undefined) {
      position.set(change.id, spans.ids.length);
      spans.ids.push(change.id);
      spans.lane.push(lane);
      spans.beginMs.push(change.beginMs);
      spans.endMs.push(change.endMs);
      spans.status.push(change.status);
      spans.scheduledMs.push(Date.parse(change.scheduledAt));
      spans.startedMs.push(change.startedAt === null ? null : Date.parse(change.startedAt));
    } else {
      spans.beginMs[index] = change.beginMs;
      spans.endMs[index] = change.endMs;
      spans.status[index] = change.status;
      spans.startedMs[index] = change.startedAt === null ? null : Date.parse(change.startedAt);
    }
  }
  const nowMs = Math.max(data.nowMs, ...relevant.map((change) => change.endMs));
  return { ...data, lanes, spans, nowMs };
}

/** A job's runs with the changes applied to the runs it lists; `null` when the list must be
 * read again (it is one small page): a run it does not list yet, or a run that finished (its
 * result, node and error are not in the change). */
export function patchRunRows(rows: RunRow[], changes: RunChange[]): RunRow[] | null {
  const byId = new Map(changes.map((change) => [change.id, change]));
  if (changes.some((change) => change.status !== "running" || !rows.some((row) => row.id === change.id))) return null;
  return rows.map((row) => {
    const change = byId.get(row.id);
    return change === undefined ? row : { ...row, status: change.status, startedAt: change.startedAt };
  });
}

const keyed = (key: readonly string[]) => (query: Query) => query.queryKey[0] === key[0];

/** Applies one `console-changed` event to the caches. */
export function applyChanges(client: QueryClient, changed: ConsoleChanged): void {
  if (changed.reload) {
    void client.invalidateQueries({ predicate: (query) => query.queryKey[0] !== "connection" });
    return;
  }
  const { runs } = changed;
  if (runs.length > 0) {
    for (const query of client.getQueryCache().findAll({ predicate: keyed(TIMELINE_KEY) })) {
      const window = query.queryKey[1] as TimelineQuery;
      client.setQueryData<Timeline>(query.queryKey, (data) => (data === undefined ? data : patchTimeline(data, window, runs)));
    }
    const jobs = new Set(runs.map((run) => run.jobId));
    for (const query of client.getQueryCache().findAll({ predicate: keyed(JOB_RUNS_KEY) })) {
      const jobId = query.queryKey[1] as string;
      if (!jobs.has(jobId)) continue;
      const mine = runs.filter((run) => run.jobId === jobId);
      const rows = client.getQueryData<RunRow[]>(query.queryKey);
      const patched = rows === undefined ? null : patchRunRows(rows, mine);
      if (patched === null) void client.invalidateQueries({ queryKey: query.queryKey, exact: true });
      else client.setQueryData(query.queryKey, patched);
    }
    // Details of an occurrence of a changed job (new attempts, results) are read again.
    void client.invalidateQueries({
      predicate: (query) => query.queryKey[0] === OCCURRENCE_KEY[0] && jobs.has((query.state.data as { jobId?: string } | undefined)?.jobId ?? ""),
    });
    void client.invalidateQueries({ predicate: (query) => query.queryKey[0] === JOB_STATUS_KEY[0] && jobs.has(query.queryKey[1] as string) });
    void client.invalidateQueries({ queryKey: TENANTS_KEY });
    if (runs.some((run) => run.status === "failed" || run.status === "timed_out" || run.status === "lost")) {
      void client.invalidateQueries({ queryKey: AUTO_DISABLED_KEY });
      void client.invalidateQueries({ queryKey: JOBS_KEY });
    }
  }
  if (changed.jobs) {
    void client.invalidateQueries({ queryKey: JOBS_KEY });
    void client.invalidateQueries({ queryKey: JOB_STATUS_KEY });
    void client.invalidateQueries({ queryKey: AUTO_DISABLED_KEY });
  }
  if (changed.tenants) void client.invalidateQueries({ queryKey: TENANTS_KEY });
  if (runs.length > 0 || changed.jobs || changed.tenants || changed.nodes) {
    void client.invalidateQueries({ queryKey: OVERVIEW_KEY });
  }
}

/** Follows the backend's live updates while the shell is shown. */
export function useLiveUpdates(client: QueryClient): void {
  useEffect(() => {
    let cancelled = false;
    let stop: (() => void) | undefined;
    void events.consoleChanged
      .listen((event) => {
        applyChanges(client, event.payload);
      })
      .then((unlisten) => {
        if (cancelled) unlisten();
        else stop = unlisten;
      });
    return () => {
      cancelled = true;
      stop?.();
    };
  }, [client]);
}
