import { useMemo } from "react";
import { createColumnHelper, flexRender, getCoreRowModel, useReactTable } from "@tanstack/react-table";

import type { RunRow } from "../bindings";
import { formatDuration, resultText, TRIGGER_LABEL } from "../lib/runs";
import { formatInZone, shortInstant, viewerTimeZone, zoned } from "../lib/time";
import { StatusBadge } from "./StatusBadge";

const column = createColumnHelper<RunRow>();

/** The viewer's time of an instant shown in another zone, for a cell's title. */
function viewerTitle(instant: string | null, zone: string, viewer: string): string | undefined {
  return instant === null || zone === viewer ? undefined : `${formatInZone(instant, viewer)} ${viewer}`;
}

/** Runs (attempts) as a table; a row opens the run's details. `showJob` adds the job column.
 * Instants are shown in `zone` (the viewer's unless a job's page passes the job's), named in the
 * headers; where it is not the viewer's, a cell's title gives the viewer's time. */
export function RunsTable({ runs, onOpen, showJob = false, testId, empty = "No runs yet.", zone: shownZone }: { runs: RunRow[]; onOpen: (runId: string) => void; showJob?: boolean; testId: string; empty?: string; zone?: string }) {
  const viewer = viewerTimeZone();
  const zone = shownZone ?? viewer;
  const columns = useMemo(
    () => [
      column.accessor("scheduledAt", {
        header: zoned("Scheduled", zone),
        cell: (info) => <span title={viewerTitle(info.getValue(), zone, viewer)}>{shortInstant(info.getValue(), zone)}</span>,
      }),
      ...(showJob ? [column.accessor((run) => `${run.tenant} / ${run.job}`, { id: "job", header: "Job" })] : []),
      column.accessor("attempt", { header: "Attempt", cell: (info) => `#${info.getValue()} · ${TRIGGER_LABEL[info.row.original.trigger]}` }),
      column.accessor("status", { header: "Status", cell: (info) => <StatusBadge status={info.getValue()} /> }),
      column.accessor("startedAt", { header: zoned("Started", zone), cell: (info) => <span title={viewerTitle(info.getValue(), zone, viewer)}>{shortInstant(info.getValue(), zone)}</span> }),
      column.accessor("durationMs", { header: "Duration", cell: (info) => formatDuration(info.getValue()) }),
      column.accessor("latenessMs", { header: "Late by", cell: (info) => formatDuration(info.getValue()) }),
      column.accessor("node", { header: "Node", cell: (info) => <span className="mono small">{info.getValue() ?? "—"}</span> }),
      column.display({
        id: "result",
        header: "Result",
        cell: ({ row }) => {
          const text = resultText(row.original);
          return <span title={text || undefined}>{text || "—"}</span>;
        },
      }),
    ],
    [showJob, zone, viewer],
  );
  const table = useReactTable({ data: runs, columns, getCoreRowModel: getCoreRowModel(), getRowId: (run) => run.id });
  return (
    <table className="grid compact" data-testid={testId}>
      <thead>
        {table.getHeaderGroups().map((group) => (
          <tr key={group.id}>
            {group.headers.map((header) => (
              <th key={header.id}>{flexRender(header.column.columnDef.header, header.getContext())}</th>
            ))}
          </tr>
        ))}
      </thead>
      <tbody>
        {table.getRowModel().rows.map((row) => (
          <tr
            key={row.id}
            className="openable"
            data-run={row.original.id}
            data-status={row.original.status}
            tabIndex={0}
            aria-label={`Open run of ${row.original.tenant} / ${row.original.job} scheduled ${shortInstant(row.original.scheduledAt, zone)}`}
            onClick={() => { onOpen(row.original.id); }}
            onKeyDown={(event) => {
              if (event.key === "Enter" || event.key === " ") {
                event.preventDefault();
                onOpen(row.original.id);
              }
            }}
          >
            {row.getVisibleCells().map((cell) => (
              <td key={cell.id}>{flexRender(cell.column.columnDef.cell, cell.getContext())}</td>
            ))}
          </tr>
        ))}
        {runs.length === 0 && (
          <tr>
            <td colSpan={columns.length} className="empty">{empty}</td>
          </tr>
        )}
      </tbody>
    </table>
  );
}
