import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { TZDate } from "@date-fns/tz";
import { format } from "date-fns";

import type { RunStatus } from "../bindings";
import { ALL_STATUSES, formatDuration, STATUS_COLOR, STATUS_LABEL } from "../lib/runs";
import { DAY_MS, GHOST_MIN_WIDTH, ghostHitTest, hitTest, msAt, spanDetails, ticks, xOf, zoomView, type Rows, type Timeline, type View } from "../lib/timelineLayout";

/** How projected runs are drawn: outlined in the accent colour, never filled like a run. */
export const GHOST_STROKE = "#1f5fbf";

const LABEL_WIDTH = 210;
const AXIS_HEIGHT = 26;
const ROW_HEIGHT = 18;
const BAR_HEIGHT = 12;
const MAX_VIEWPORT = 620;

export interface Drawn {
  runs: number;
  ghosts: number;
  ms: number;
}

/** The timeline drawn on a canvas: one row per lane group, a bar per run from start to finish
 * coloured by status, projected runs as dashed outlines, the time axis (its zone named at its
 * left) and a "now" line at `nowMs`. Only
 * the visible rows are drawn (the canvas stays as tall as the viewport; a spacer gives the
 * scrollbar), and each status is drawn in one pass, so 50,000 runs stay smooth. Wheel with Ctrl
 * zooms around the pointer, dragging pans, a click opens the run. */
export function TimelineCanvas({
  data,
  rows,
  view,
  visible,
  ghosts,
  zone,
  nowMs,
  onView,
  onOpenRun,
  onDrawn,
}: {
  data: Timeline;
  rows: Rows;
  view: View;
  visible: ReadonlySet<RunStatus>;
  ghosts: boolean;
  zone: string;
  nowMs: number;
  onView: (view: View) => void;
  onOpenRun: (runId: string) => void;
  onDrawn: (drawn: Drawn) => void;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const scroller = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(1000);
  const [scrollTop, setScrollTop] = useState(0);
  const [hover, setHover] = useState<{ kind: "run" | "ghost"; index: number; x: number; y: number } | null>(null);
  const drag = useRef<{ x: number; view: View; moved: boolean } | null>(null);
  const contentHeight = rows.labels.length * ROW_HEIGHT;
  const viewportHeight = Math.max(ROW_HEIGHT * 3, Math.min(MAX_VIEWPORT, contentHeight));
  const plotWidth = Math.max(100, width - LABEL_WIDTH);

  // Runs by status, so that each colour is one pass.
  const byStatus = useMemo(() => {
    const groups = new Map<RunStatus, number[]>(ALL_STATUSES.map((status) => [status, []]));
    data.spans.status.forEach((status, index) => groups.get(status)?.push(index));
    return groups;
  }, [data]);

  useLayoutEffect(() => {
    const element = scroller.current;
    if (element === null) return;
    const observer = new ResizeObserver(() => { setWidth(element.clientWidth); });
    observer.observe(element);
    setWidth(element.clientWidth);
    return () => { observer.disconnect(); };
  }, []);

  useEffect(() => {
    const element = canvas.current;
    const context = element?.getContext("2d");
    if (element === null || context === null || context === undefined) return;
    const started = performance.now();
    const ratio = window.devicePixelRatio || 1;
    const height = AXIS_HEIGHT + viewportHeight;
    element.width = Math.round(width * ratio);
    element.height = Math.round(height * ratio);
    element.style.width = `${width}px`;
    element.style.height = `${height}px`;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.clearRect(0, 0, width, height);
    const firstRow = Math.floor(scrollTop / ROW_HEIGHT);
    const lastRow = Math.min(rows.labels.length - 1, Math.ceil((scrollTop + viewportHeight) / ROW_HEIGHT));
    const rowY = (row: number) => AXIS_HEIGHT + row * ROW_HEIGHT - scrollTop;

    // Row stripes and labels.
    context.font = "12px system-ui, sans-serif";
    context.textBaseline = "middle";
    for (let row = firstRow; row <= lastRow; row++) {
      const y = rowY(row);
      if (row % 2 === 1) {
        context.fillStyle = "#f4f6fa";
        context.fillRect(0, y, width, ROW_HEIGHT);
      }
      context.fillStyle = "#1b2333";
      context.fillText(rows.labels[row] ?? "", 6, y + ROW_HEIGHT / 2, LABEL_WIDTH - 12);
    }

    // The bars, clipped to the plot.
    context.save();
    context.beginPath();
    context.rect(LABEL_WIDTH, AXIS_HEIGHT, plotWidth, viewportHeight);
    context.clip();
    const scale = plotWidth / (view.toMs - view.fromMs);
    let drawnRuns = 0;
    const { lane, beginMs, endMs } = data.spans;
    for (const [status, indexes] of byStatus) {
      if (!visible.has(status) || indexes.length === 0) continue;
      context.fillStyle = STATUS_COLOR[status];
      for (const index of indexes) {
        const row = rows.rowOfLane[lane[index] ?? 0] ?? 0;
        if (row < firstRow || row > lastRow) continue;
        const x1 = ((beginMs[index] ?? 0) - view.fromMs) * scale;
        const x2 = ((endMs[index] ?? 0) - view.fromMs) * scale;
        if (x2 < 0 || x1 > plotWidth) continue;
        context.fillRect(LABEL_WIDTH + x1, rowY(row) + (ROW_HEIGHT - BAR_HEIGHT) / 2, Math.max(1.5, x2 - x1), BAR_HEIGHT);
        drawnRuns++;
      }
    }
    let drawnGhosts = 0;
    if (ghosts) {
      // Outlined and dashed on white: nothing that ran is drawn this way.
      context.strokeStyle = GHOST_STROKE;
      context.fillStyle = "#ffffff";
      context.setLineDash([4, 3]);
      context.lineWidth = 1.5;
      const ghostLane = data.ghosts.lane;
      for (let index = 0; index < ghostLane.length; index++) {
        const row = rows.rowOfLane[ghostLane[index] ?? 0] ?? 0;
        if (row < firstRow || row > lastRow) continue;
        const x1 = ((data.ghosts.atMs[index] ?? 0) - view.fromMs) * scale;
        const w = Math.max(GHOST_MIN_WIDTH, (data.ghosts.expectedMs[index] ?? 0) * scale);
        if (x1 + w < 0 || x1 > plotWidth) continue;
        const y = rowY(row) + (ROW_HEIGHT - BAR_HEIGHT) / 2;
        context.fillRect(LABEL_WIDTH + x1, y, w, BAR_HEIGHT);
        context.strokeRect(LABEL_WIDTH + x1 + 0.75, y + 0.75, w - 1.5, BAR_HEIGHT - 1.5);
        drawnGhosts++;
      }
      context.setLineDash([]);
      context.lineWidth = 1;
    }
    // Now.
    const nowX = LABEL_WIDTH + xOf(nowMs, view, plotWidth);
    context.strokeStyle = "#b42318";
    context.beginPath();
    context.moveTo(nowX, AXIS_HEIGHT);
    context.lineTo(nowX, AXIS_HEIGHT + viewportHeight);
    context.stroke();
    context.restore();

    // The axis, in the viewer's zone, which it names above the row labels.
    context.fillStyle = "#ffffff";
    context.fillRect(0, 0, width, AXIS_HEIGHT);
    context.strokeStyle = "#d8dee8";
    context.fillStyle = "#5b6678";
    context.fillText(`Times in ${zone}`, 6, AXIS_HEIGHT / 2, LABEL_WIDTH - 12);
    const span = view.toMs - view.fromMs;
    const pattern = span > 2 * DAY_MS ? "MMM d" : span > 6 * 3_600_000 ? "MMM d HH:mm" : "HH:mm";
    for (const mark of ticks(view, Math.max(2, Math.floor(plotWidth / 110)))) {
      const x = LABEL_WIDTH + xOf(mark, view, plotWidth);
      context.beginPath();
      context.moveTo(x, AXIS_HEIGHT - 6);
      context.lineTo(x, AXIS_HEIGHT + viewportHeight);
      context.stroke();
      context.fillText(format(new TZDate(mark, zone), pattern), x + 3, AXIS_HEIGHT / 2);
    }
    const elapsed = performance.now() - started;
    element.dataset.renderMs = elapsed.toFixed(1);
    element.dataset.runs = String(drawnRuns);
    onDrawn({ runs: drawnRuns, ghosts: drawnGhosts, ms: elapsed });
  }, [data, rows, view, visible, ghosts, zone, nowMs, width, scrollTop, viewportHeight, plotWidth, byStatus, onDrawn]);

  const locate = (event: React.MouseEvent<HTMLCanvasElement>) => {
    const bounds = event.currentTarget.getBoundingClientRect();
    const x = event.clientX - bounds.left - LABEL_WIDTH;
    const y = event.clientY - bounds.top - AXIS_HEIGHT + scrollTop;
    return { x, row: Math.floor(y / ROW_HEIGHT), clientX: event.clientX - bounds.left, clientY: event.clientY - bounds.top };
  };
  const hit = (x: number, row: number) => (x < 0 || row < 0 ? null : hitTest(data, rows, view, plotWidth, x, row, (status) => visible.has(status)));

  const hitGhost = (x: number, row: number) => (!ghosts || x < 0 || row < 0 ? null : ghostHitTest(data, rows, view, plotWidth, x, row));
  const when = (ms: number) => `${format(new TZDate(ms, zone), "yyyy-MM-dd HH:mm:ss")} ${zone}`;
  const tip = (() => {
    if (hover === null) return null;
    const style = { left: Math.min(hover.x + 12, width - 300), top: hover.y + scrollTop + 12 };
    if (hover.kind === "ghost") {
      const lane = data.lanes[data.ghosts.lane[hover.index] ?? -1];
      const expected = data.ghosts.expectedMs[hover.index] ?? 0;
      if (lane === undefined) return null;
      return (
        <div className="timeline-tip" data-testid="timeline-tip" style={style}>
          <strong>{lane.tenant} / {lane.job}</strong> · projected
          <dl>
            <dt>Scheduled</dt><dd>{when(data.ghosts.atMs[hover.index] ?? 0)}</dd>
            <dt>Expected duration</dt><dd>{expected > 0 ? formatDuration(expected) : "unknown (no runs yet)"}</dd>
          </dl>
        </div>
      );
    }
    const details = spanDetails(data, hover.index);
    if (details === null) return null;
    return (
      <div className="timeline-tip" data-testid="timeline-tip" style={style}>
        <strong>{details.job}</strong> · {STATUS_LABEL[details.status]}
        <dl>
          <dt>Scheduled</dt><dd>{when(details.scheduledMs)}</dd>
          <dt>Started</dt><dd>{details.startedMs === null ? "did not start" : when(details.startedMs)}</dd>
          <dt>Duration</dt><dd>{formatDuration(details.durationMs)}{details.status === "running" ? " so far" : ""}</dd>
          <dt>Late by</dt><dd>{formatDuration(details.lateByMs)}</dd>
        </dl>
      </div>
    );
  })();

  return (
    <div
      className="timeline-scroller"
      ref={scroller}
      style={{ height: AXIS_HEIGHT + viewportHeight + 2 }}
      onScroll={(event) => { setScrollTop(event.currentTarget.scrollTop); }}
    >
      <div className="timeline-spacer" style={{ height: AXIS_HEIGHT + contentHeight }}>
        <canvas
          ref={canvas}
          className="timeline-canvas"
          data-testid="timeline-canvas"
          onWheel={(event) => {
            if (!event.ctrlKey && !event.metaKey) return;
            event.preventDefault();
            const { x } = locate(event);
            onView(zoomView(view, event.deltaY > 0 ? 1.25 : 0.8, msAt(Math.max(0, x), view, plotWidth)));
          }}
          onMouseDown={(event) => { drag.current = { x: event.clientX, view, moved: false }; }}
          onMouseMove={(event) => {
            const start = drag.current;
            if (start !== null && Math.abs(event.clientX - start.x) > 3) {
              start.moved = true;
              const shift = ((event.clientX - start.x) / plotWidth) * (start.view.toMs - start.view.fromMs);
              onView({ fromMs: start.view.fromMs - shift, toMs: start.view.toMs - shift });
              return;
            }
            const point = locate(event);
            const index = hit(point.x, point.row);
            const ghost = index === null ? hitGhost(point.x, point.row) : null;
            if (index !== null) setHover({ kind: "run", index, x: point.clientX, y: point.clientY });
            else if (ghost !== null) setHover({ kind: "ghost", index: ghost, x: point.clientX, y: point.clientY });
            else setHover(null);
          }}
          onMouseLeave={() => { setHover(null); drag.current = null; }}
          onMouseUp={(event) => {
            const start = drag.current;
            drag.current = null;
            if (start?.moved === true) return;
            const point = locate(event);
            const index = hit(point.x, point.row);
            const id = index === null ? undefined : data.spans.ids[index];
            if (id !== undefined) onOpenRun(id);
          }}
        />
        {tip}
      </div>
    </div>
  );
}
