import { useMemo, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  createColumnHelper,
  flexRender,
  getCoreRowModel,
  getSortedRowModel,
  useReactTable,
  type SortingState,
} from "@tanstack/react-table";

import type { TenantRow } from "../bindings";
import { useAccess } from "../lib/access";
import { useProductionGuard } from "../lib/environment";
import { commands, describeFailure, unwrap } from "../lib/commands";
import { sortMark, sortState } from "../components/sorting";
import { TENANTS_KEY } from "../lib/keys";
import { TenantForm } from "./TenantForm";

/** Live counts refresh this often. */
const REFRESH_MS = 3_000;

const column = createColumnHelper<TenantRow>();

/** Tenants with live counts; create, edit limits, pause and resume. */
export function TenantsScreen({ onOpenJobs }: { onOpenJobs: (tenant: string) => void }) {
  const queryClient = useQueryClient();
  const tenants = useQuery({
    queryKey: TENANTS_KEY,
    queryFn: () => unwrap(commands.listTenants()),
    refetchInterval: REFRESH_MS,
  });
  const [editing, setEditing] = useState<TenantRow | "new" | null>(null);
  const [savedMessage, setSavedMessage] = useState<string | null>(null);
  // Tenants' settings (limits, pausing, new tenants) are for admins only.
  const adminOnly = useAccess().why("admin", null);
  // Pausing a whole tenant stops all its customers' jobs: on production, confirm first.
  const { guard, dialog } = useProductionGuard();
  const [sorting, setSorting] = useState<SortingState>([{ id: "name", desc: false }]);
  const pause = useMutation({
    mutationFn: ({ name, paused }: { name: string; paused: boolean }) =>
      unwrap(commands.updateTenant(name, { maxConcurrent: null, weight: null, paused, policy: null })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: TENANTS_KEY }),
  });

  const columns = useMemo(
    () => [
      column.accessor("name", {
        header: "Tenant",
        cell: (info) => (
          <button type="button" className="link" onClick={() => { onOpenJobs(info.getValue()); }}>
            {info.getValue()}
          </button>
        ),
      }),
      column.accessor("paused", {
        header: "State",
        cell: (info) => (info.getValue() ? <span className="badge warn">paused</span> : <span className="badge ok">active</span>),
      }),
      column.accessor("running", { header: "Running", meta: { numeric: true } }),
      column.accessor("queued", { header: "Queued", meta: { numeric: true } }),
      column.accessor("failed24h", {
        header: "Failed 24 h",
        meta: { numeric: true },
        cell: (info) => <span className={info.getValue() > 0 ? "bad" : undefined}>{info.getValue()}</span>,
      }),
      column.accessor("autoDisabledJobs", {
        header: "Auto-disabled",
        meta: { numeric: true },
        cell: (info) => <span className={info.getValue() > 0 ? "bad" : undefined}>{info.getValue()}</span>,
      }),
      column.accessor("jobs", { header: "Jobs", meta: { numeric: true } }),
      column.accessor("maxConcurrent", { header: "Max concurrent", meta: { numeric: true } }),
      column.accessor("weight", { header: "Weight", meta: { numeric: true } }),
      column.display({
        id: "actions",
        header: "",
        cell: ({ row }) => (
          <span className="actions">
            <button type="button" title={adminOnly} disabled={adminOnly !== undefined} onClick={() => { setEditing(row.original); }} aria-label={`Edit ${row.original.name}`}>
              Edit
            </button>
            <button
              type="button"
              title={adminOnly}
              disabled={pause.isPending || adminOnly !== undefined}
              onClick={() => {
                const { name, paused } = row.original;
                if (paused) pause.mutate({ name, paused: false });
                else guard(`Pause tenant ${name} (all of its jobs)`, () => { pause.mutate({ name, paused: true }); });
              }}
              aria-label={`${row.original.paused ? "Resume" : "Pause"} ${row.original.name}`}
            >
              {row.original.paused ? "Resume" : "Pause"}
            </button>
          </span>
        ),
      }),
    ],
    [onOpenJobs, pause, adminOnly, guard],
  );

  const table = useReactTable({
    data: tenants.data ?? [],
    columns,
    state: { sorting },
    onSortingChange: setSorting,
    getCoreRowModel: getCoreRowModel(),
    getSortedRowModel: getSortedRowModel(),
    getRowId: (row) => row.id,
  });

  return (
    <section className="panel">
      <div className="panel-head">
        <h1>Tenants</h1>
        <button type="button" className="primary" title={adminOnly} disabled={adminOnly !== undefined} onClick={() => { setEditing("new"); }}>
          New tenant
        </button>
      </div>
      {dialog}
      {editing !== null && (
        <TenantForm
          tenant={editing === "new" ? null : editing}
          onDone={(saved) => {
            setEditing(null);
            setSavedMessage(saved);
            void queryClient.invalidateQueries({ queryKey: TENANTS_KEY });
          }}
        />
      )}
      {savedMessage !== null && editing === null && <p className="saved" role="status" data-testid="tenant-saved">{savedMessage}</p>}
      {tenants.isError && <p className="form-error" role="alert">{describeFailure(tenants.error)}</p>}
      {pause.isError && <p className="form-error" role="alert">{describeFailure(pause.error)}</p>}
      <table className="grid" data-testid="tenants-table">
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => (
                <th
                  key={header.id}
                  className={isNumeric(header.column.columnDef.meta) ? "num" : undefined}
                  aria-sort={sortState(header.column.getIsSorted())}
                >
                  {header.column.getCanSort() ? (
                    <button type="button" className="sort" onClick={header.column.getToggleSortingHandler()}>
                      {flexRender(header.column.columnDef.header, header.getContext())}
                      {sortMark(header.column.getIsSorted())}
                    </button>
                  ) : (
                    flexRender(header.column.columnDef.header, header.getContext())
                  )}
                </th>
              ))}
            </tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.map((row) => (
            <tr key={row.id} data-tenant={row.original.name}>
              {row.getVisibleCells().map((cell) => (
                <td key={cell.id} className={isNumeric(cell.column.columnDef.meta) ? "num" : undefined}>
                  {flexRender(cell.column.columnDef.cell, cell.getContext())}
                </td>
              ))}
            </tr>
          ))}
          {tenants.data?.length === 0 && (
            <tr>
              <td colSpan={columns.length} className="empty">
                No tenants yet. Create one to add jobs.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

function isNumeric(meta: unknown): boolean {
  return typeof meta === "object" && meta !== null && "numeric" in meta && meta.numeric === true;
}
