// The timeline's geometry, kept pure so that it is tested without a canvas: which row each lane
// goes to (per job or per tenant), where an instant falls on the x axis, zooming around a point
// between an hour and a month, and which run is under the pointer.
import type { Lane, RunStatus, TimelineData } from "../bindings";

/** A timeline window as the screen keeps it: the transport's columns with plain numbers (the
 * bindings type every float as `number | null`, since JSON has no NaN). */
export interface Timeline {
  fromMs: number;
  toMs: number;
  nowMs: number;
  lanes: Lane[];
  spans: { ids: string[]; lane: number[]; beginMs: number[]; endMs: number[]; status: RunStatus[]; scheduledMs: number[]; startedMs: (number | null)[] };
  truncated: boolean;
  ghosts: { lane: number[]; atMs: number[]; expectedMs: number[] };
  ghostsTruncated: boolean;
}

const numbers = (values: (number | null)[]): number[] => values.map((value) => value ?? 0);

/** The transport's window, decoded once when it arrives. */
export function decodeTimeline(data: TimelineData): Timeline {
  return {
    fromMs: data.fromMs ?? 0,
    toMs: data.toMs ?? 0,
    nowMs: data.nowMs ?? 0,
    lanes: data.lanes,
    spans: { ...data.spans, beginMs: numbers(data.spans.beginMs), endMs: numbers(data.spans.endMs), scheduledMs: numbers(data.spans.scheduledMs) },
    truncated: data.truncated,
    ghosts: { lane: data.ghosts.lane, atMs: numbers(data.ghosts.atMs), expectedMs: numbers(data.ghosts.expectedMs) },
    ghostsTruncated: data.ghostsTruncated,
  };
}

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
export const MIN_SPAN_MS = HOUR_MS;
export const MAX_SPAN_MS = 31 * DAY_MS;

export type GroupBy = "job" | "tenant";

export interface Rows {
  /** Row labels, top to bottom. */
  labels: string[];
  /** The row of each lane (index into the timeline's lanes). */
  rowOfLane: Int32Array;
}

/** One row per job (labelled "tenant / job"), or one per tenant holding all its jobs. */
export function rowsFor(lanes: Lane[], groupBy: GroupBy): Rows {
  const rowOfLane = new Int32Array(lanes.length);
  if (groupBy === "job") {
    lanes.forEach((_, index) => (rowOfLane[index] = index));
    return { labels: lanes.map((lane) => `${lane.tenant} / ${lane.job}`), rowOfLane };
  }
  const labels: string[] = [];
  const rowOf = new Map<string, number>();
  lanes.forEach((lane, index) => {
    let row = rowOf.get(lane.tenant);
    if (row === undefined) {
      row = labels.length;
      rowOf.set(lane.tenant, row);
      labels.push(lane.tenant);
    }
    rowOfLane[index] = row;
  });
  return { labels, rowOfLane };
}

export interface View {
  fromMs: number;
  toMs: number;
}

/** The x of instant `ms` on a plot `width` pixels wide showing `view`. */
export function xOf(ms: number, view: View, width: number): number {
  return ((ms - view.fromMs) / (view.toMs - view.fromMs)) * width;
}

/** The instant under x. */
export function msAt(x: number, view: View, width: number): number {
  return view.fromMs + (x / width) * (view.toMs - view.fromMs);
}

/** The view scaled by `factor` (< 1 zooms in) around `anchorMs`, kept between an hour and a
 * month. */
export function zoomView(view: View, factor: number, anchorMs: number): View {
  const span = view.toMs - view.fromMs;
  const next = Math.min(MAX_SPAN_MS, Math.max(MIN_SPAN_MS, span * factor));
  const ratio = (anchorMs - view.fromMs) / span;
  const fromMs = anchorMs - ratio * next;
  return { fromMs, toMs: fromMs + next };
}

/** The view of `spanMs` ending a little after `nowMs` (a fifth of it, at most a day), so the
 * next runs show as ghosts. */
export function viewEndingNow(nowMs: number, spanMs: number): View {
  const ahead = Math.min(spanMs * 0.2, DAY_MS);
  return { fromMs: nowMs + ahead - spanMs, toMs: nowMs + ahead };
}

/** A view that follows now: `backMs` of the past and `aheadMs` of the future. */
export interface Follow {
  backMs: number;
  aheadMs: number;
}

/** The preset views, each with now in view and a good part of the future: the default is the
 * last day and the next six hours. */
export const PRESETS: { label: string; follow: Follow }[] = [
  { label: "1 h", follow: { backMs: 40 * 60_000, aheadMs: 20 * 60_000 } },
  { label: "6 h", follow: { backMs: 4 * HOUR_MS, aheadMs: 2 * HOUR_MS } },
  { label: "24 h + next 6 h", follow: { backMs: DAY_MS, aheadMs: 6 * HOUR_MS } },
  { label: "7 days", follow: { backMs: 6 * DAY_MS, aheadMs: DAY_MS } },
  { label: "30 days", follow: { backMs: 29 * DAY_MS, aheadMs: DAY_MS } },
];

export const DEFAULT_FOLLOW: Follow = { backMs: DAY_MS, aheadMs: 6 * HOUR_MS };

/** The view a followed window shows at `nowMs`. */
export function followView(nowMs: number, follow: Follow): View {
  return { fromMs: nowMs - follow.backMs, toMs: nowMs + follow.aheadMs };
}

/** How a view keeps following now after "Now": its span, with now where the view had it if
 * now was in view (else a quarter of the span ahead). */
export function followOf(view: View, nowMs: number): Follow {
  const span = view.toMs - view.fromMs;
  const aheadMs = nowMs > view.fromMs && nowMs < view.toMs ? view.toMs - nowMs : span / 4;
  return { backMs: span - aheadMs, aheadMs };
}

/** How often a followed view moves: about a pixel's worth of time on a 1,500-pixel plot,
 * between one second and a minute. */
export function followStepMs(view: View): number {
  return Math.min(60_000, Math.max(1_000, (view.toMs - view.fromMs) / 1_500));
}

/** What the pointer shows for a run: job, status, and the times a support engineer asks for. */
export interface SpanDetails {
  job: string;
  status: RunStatus;
  scheduledMs: number;
  startedMs: number | null;
  /** Started to finished (or to now while it runs); null when it never started. */
  durationMs: number | null;
  /** Started minus scheduled; null when it never started. */
  lateByMs: number | null;
}

/** The hover details of run `index`. */
export function spanDetails(data: Timeline, index: number): SpanDetails | null {
  const status = data.spans.status[index];
  const lane = data.lanes[data.spans.lane[index] ?? -1];
  if (status === undefined || lane === undefined) return null;
  const scheduledMs = data.spans.scheduledMs[index] ?? 0;
  const startedMs = data.spans.startedMs[index] ?? null;
  return {
    job: `${lane.tenant} / ${lane.job}`,
    status,
    scheduledMs,
    startedMs,
    durationMs: startedMs === null ? null : Math.max(0, (data.spans.endMs[index] ?? startedMs) - startedMs),
    lateByMs: startedMs === null ? null : startedMs - scheduledMs,
  };
}

/** The index of the projected run under (x, row), if one is. */
export function ghostHitTest(data: Timeline, rows: Rows, view: View, width: number, x: number, row: number, slop = 3): number | null {
  const { lane, atMs, expectedMs } = data.ghosts;
  let found: number | null = null;
  for (let index = 0; index < lane.length; index++) {
    if (rows.rowOfLane[lane[index] ?? 0] !== row) continue;
    const x1 = xOf(atMs[index] ?? 0, view, width);
    const x2 = Math.max(x1 + GHOST_MIN_WIDTH, xOf((atMs[index] ?? 0) + (expectedMs[index] ?? 0), view, width));
    if (x >= x1 - slop && x <= x2 + slop) found = index;
  }
  return found;
}

/** The narrowest a projected run is drawn (pixels), so that it can be seen and pointed at. */
export const GHOST_MIN_WIDTH = 6;

/** The index of the run under (x, row), if one is: the latest-drawn bar wins; a bar narrower
 * than `slop` pixels is hit within `slop`. */
export function hitTest(
  data: Timeline,
  rows: Rows,
  view: View,
  width: number,
  x: number,
  row: number,
  visible: (status: RunStatus) => boolean,
  slop = 3,
): number | null {
  const { lane, beginMs, endMs, status } = data.spans;
  let found: number | null = null;
  for (let index = 0; index < lane.length; index++) {
    const laneIndex = lane[index] ?? 0;
    if (rows.rowOfLane[laneIndex] !== row) continue;
    const runStatus = status[index];
    if (runStatus === undefined || !visible(runStatus)) continue;
    const x1 = xOf(beginMs[index] ?? 0, view, width);
    const x2 = Math.max(x1 + 1, xOf(endMs[index] ?? 0, view, width));
    if (x >= x1 - slop && x <= x2 + slop) found = index;
  }
  return found;
}

/** Tick marks for the time axis: a round step giving about `count` ticks over the view. */
export function ticks(view: View, count: number): number[] {
  const steps = [60_000, 5 * 60_000, 15 * 60_000, 30 * 60_000, HOUR_MS, 3 * HOUR_MS, 6 * HOUR_MS, 12 * HOUR_MS, DAY_MS, 2 * DAY_MS, 7 * DAY_MS];
  const span = view.toMs - view.fromMs;
  const step = steps.find((candidate) => span / candidate <= count) ?? 7 * DAY_MS;
  const first = Math.ceil(view.fromMs / step) * step;
  const marks: number[] = [];
  for (let at = first; at <= view.toMs; at += step) marks.push(at);
  return marks;
}
