import { useMemo } from "react";
import { createColumnHelper, flexRender, getCoreRowModel, useReactTable } from "@tanstack/react-table";

import type { RunRow } from "../bindings";
import { formatDuration, TRIGGER_LABEL } from "../lib/runs";
import { shortInstant, viewerTimeZone } from "../lib/time";
import { StatusBadge } from "./StatusBadge";

const column = createColumnHelper<RunRow>();

/** Runs (attempts) as a table; a row opens the run's details. `showJob` adds the job column. */
export function RunsTable({ runs, onOpen, showJob = false, testId, empty = "No runs yet." }: { runs: RunRow[]; onOpen: (runId: string) => void; showJob?: boolean; testId: string; empty?: string }) {
  const zone = viewerTimeZone();
  const columns = useMemo(
    () => [
      column.accessor("scheduledAt", {
        header: `Scheduled (${zone})`,
        cell: (info) => (
          <button type="button" className="link" onClick={() => { onOpen(info.row.original.id); }}>
            {shortInstant(info.getValue(), zone)}
          </button>
        ),
      }),
      ...(showJob ? [column.accessor((run) => `${run.tenant} / ${run.job}`, { id: "job", header: "Job" })] : []),
      column.accessor("attempt", { header: "Attempt", cell: (info) => `#${info.getValue()} · ${TRIGGER_LABEL[info.row.original.trigger]}` }),
      column.accessor("status", { header: "Status", cell: (info) => <StatusBadge status={info.getValue()} /> }),
      column.accessor("startedAt", { header: "Started", cell: (info) => shortInstant(info.getValue(), zone) }),
      column.accessor("durationMs", { header: "Duration", cell: (info) => formatDuration(info.getValue()) }),
      column.accessor("latenessMs", { header: "Late by", cell: (info) => formatDuration(info.getValue()) }),
      column.accessor("node", { header: "Node", cell: (info) => <span className="mono small">{info.getValue() ?? "—"}</span> }),
      column.display({
        id: "result",
        header: "Result",
        cell: ({ row }) => {
          const run = row.original;
          const code = run.httpStatus !== null ? `HTTP ${run.httpStatus}` : run.exitCode !== null ? `exit ${run.exitCode}` : "";
          const text = run.errorSummary ?? run.reason ?? "";
          // An HTTP error already names its status ("HTTP 500 Internal Server Error").
          const parts = code !== "" && text.startsWith(code) ? [text] : [code, text];
          return <span title={text}>{parts.filter((part) => part !== "").join(" · ") || "—"}</span>;
        },
      }),
    ],
    [onOpen, showJob, zone],
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
          <tr key={row.id} data-run={row.original.id} data-status={row.original.status}>
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
