import { useMemo, useState } from "react";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import {
  createColumnHelper,
  flexRender,
  getCoreRowModel,
  useReactTable,
  type SortingState,
} from "@tanstack/react-table";

import type { BulkAction, BulkResult, HandlerKind, JobQuery, JobRow, JobSort, JobState, JobStateFilter } from "../bindings";
import { useAccess } from "../lib/access";
import { actionLabel, NOTHING_SELECTED, resultText, selectedCount, selectionInput, toggleRow, type Selection } from "../lib/bulk";
import { commands, describeFailure, unwrap } from "../lib/commands";
import { count } from "../lib/count";
import { useProductionGuard } from "../lib/environment";
import { wontRun } from "../lib/jobs";
import { shortInstant, viewerTimeZone, zoned } from "../lib/time";
import { useDebounced } from "../lib/useDebounced";
import { sortMark, sortState } from "../components/sorting";
import { JOBS_KEY, TENANTS_KEY } from "../lib/keys";

const PAGE_SIZE = 50;
const REFRESH_MS = 5_000;

const column = createColumnHelper<JobRow>();

/** Columns the database sorts by; the others are not sortable. */
const SORTS: Partial<Record<string, JobSort>> = {
  name: "name",
  tenant: "tenant",
  nextRunAt: "next_run",
  lastRunAt: "last_run",
  consecutiveFailures: "failures",
  updatedAt: "updated",
};

export const STATE_LABEL: Record<JobState, string> = {
  enabled: "enabled",
  disabled: "disabled",
  auto_disabled: "auto-disabled",
};

/** The jobs table: searched, filtered, sorted and paged by the database. */
export function JobsScreen({
  initialTenant,
  onOpen,
  onNew,
}: {
  initialTenant?: string | undefined;
  onOpen: (id: string) => void;
  onNew: (tenant: string | undefined) => void;
}) {
  const zone = viewerTimeZone();
  const access = useAccess();
  const [search, setSearch] = useState("");
  const [tenant, setTenant] = useState(initialTenant ?? "");
  const [state, setState] = useState<JobStateFilter | "">("");
  const [handler, setHandler] = useState<HandlerKind | "">("");
  const [sorting, setSorting] = useState<SortingState>([{ id: "name", desc: false }]);
  // Keyset paging: the cursor each visited page started at (the first page's is null), so
  // Previous goes back along the way it came and Next hands over the page's `nextCursor`.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const page = cursors.length - 1;
  // A change of filters or order starts again at the first page, with nothing selected.
  const [selection, setSelection] = useState<Selection>(NOTHING_SELECTED);
  const firstPage = () => {
    setCursors([null]);
    setSelection(NOTHING_SELECTED);
  };
  const debouncedSearch = useDebounced(search, 250);

  const sort = sorting[0];
  const query: JobQuery = {
    search: debouncedSearch === "" ? null : debouncedSearch,
    tenant: tenant === "" ? null : tenant,
    state: state === "" ? null : state,
    handler: handler === "" ? null : handler,
    sort: (sort && SORTS[sort.id]) ?? "name",
    descending: sort?.desc ?? false,
    cursor: cursors[page] ?? null,
    limit: PAGE_SIZE,
  };
  const jobs = useQuery({
    queryKey: [...JOBS_KEY, query],
    queryFn: () => unwrap(commands.listJobs(query)),
    placeholderData: keepPreviousData,
    refetchInterval: REFRESH_MS,
  });
  const tenants = useQuery({ queryKey: TENANTS_KEY, queryFn: () => unwrap(commands.listTenants()) });
  const queryClient = useQueryClient();
  const { guard, dialog } = useProductionGuard();
  const [bulkMessage, setBulkMessage] = useState<string | null>(null);
  const bulk = useMutation({
    mutationFn: (action: BulkAction) =>
      unwrap(commands.bulkJobs(selectionInput(selection, { search: debouncedSearch, tenant, state, handler }), action, false)),
    onMutate: () => { setBulkMessage(null); },
    onSuccess: (result: BulkResult) => {
      setBulkMessage(resultText(result));
      setSelection(NOTHING_SELECTED);
      void queryClient.invalidateQueries({ queryKey: JOBS_KEY });
    },
  });

  const total = jobs.data?.total ?? 0;
  const rowsShown = jobs.data?.rows ?? [];
  const selected = selectedCount(selection, total);
  const ticked = selection.kind === "rows" ? selection.ids : null;
  const allShownTicked = selection.kind === "matching" || (rowsShown.length > 0 && rowsShown.every((row) => ticked?.has(row.id) === true));
  const tickPage = () => {
    setSelection(allShownTicked ? NOTHING_SELECTED : { kind: "rows", ids: new Set([...(ticked ?? []), ...rowsShown.map((row) => row.id)]) });
  };
  const columns = useMemo(
    () => [
      column.display({
        id: "select",
        header: () => (
          <input type="checkbox" aria-label="Select the jobs on this page" checked={allShownTicked} onChange={tickPage} />
        ),
        cell: (info) => (
          <input
            type="checkbox"
            aria-label={`Select ${info.row.original.tenant}/${info.row.original.name}`}
            checked={selection.kind === "matching" || ticked?.has(info.row.original.id) === true}
            onChange={() => { setSelection(toggleRow(selection, info.row.original.id)); }}
          />
        ),
      }),
      column.accessor("name", {
        header: "Job",
        cell: (info) => (
          <button type="button" className="link" onClick={() => { onOpen(info.row.original.id); }}>
            {info.getValue()}
          </button>
        ),
      }),
      column.accessor("tenant", { header: "Tenant" }),
      column.accessor("schedule", { header: "Schedule", enableSorting: false, cell: (info) => <code>{info.getValue()}</code> }),
      column.accessor("timezone", { header: "Zone", enableSorting: false }),
      column.accessor("handler", { header: "Handler", enableSorting: false }),
      column.accessor("state", {
        header: "State",
        enableSorting: false,
        cell: (info) => (
          <span className={`badge ${info.getValue() === "enabled" ? "ok" : "warn"}`} title={info.row.original.disabledReason ?? undefined}>
            {STATE_LABEL[info.getValue()]}
          </span>
        ),
      }),
      column.accessor("consecutiveFailures", { header: "Failures", meta: { numeric: true } }),
      column.accessor("nextRunAt", {
        header: zoned("Next run", zone),
        cell: (info) => {
          // A job that will not run says why instead of showing a next run it will not make.
          const why = wontRun(info.row.original);
          return why === null ? shortInstant(info.getValue(), zone) : <span className="meta wont-run">{why}</span>;
        },
      }),
      column.accessor("lastRunAt", { header: zoned("Last run", zone), cell: (info) => shortInstant(info.getValue(), zone) }),
      column.accessor("updatedAt", { header: zoned("Updated", zone), cell: (info) => shortInstant(info.getValue(), zone) }),
    ],
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the selection's helpers are derived from `selection` and the rows
    [onOpen, zone, selection, rowsShown],
  );

  const table = useReactTable({
    data: jobs.data?.rows ?? [],
    columns,
    state: { sorting },
    manualSorting: true,
    manualPagination: true,
    enableSortingRemoval: false,
    rowCount: total,
    onSortingChange: (updater) => {
      setSorting(updater);
      firstPage();
    },
    getCoreRowModel: getCoreRowModel(),
    getRowId: (row) => row.id,
  });

  const filter = (apply: () => void) => {
    apply();
    firstPage();
  };
  const nextCursor = jobs.data?.nextCursor ?? null;
  const first = total === 0 ? 0 : page * PAGE_SIZE + 1;
  const last = Math.min(total, (page + 1) * PAGE_SIZE);
  const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));

  return (
    <section className="panel">
      <div className="panel-head">
        <h1>Jobs</h1>
        <button type="button" className="primary" disabled={!access.canSomewhere("edit")} title={access.canSomewhere("edit") ? undefined : "Your role may not create jobs in any tenant."} onClick={() => { onNew(tenant === "" ? undefined : tenant); }}>
          New job
        </button>
      </div>
      <div className="filters" role="search">
        <input
          type="search"
          aria-label="Search jobs"
          placeholder="Search job or tenant names"
          value={search}
          onChange={(event) => { filter(() => { setSearch(event.target.value); }); }}
        />
        <select aria-label="Tenant" value={tenant} onChange={(event) => { filter(() => { setTenant(event.target.value); }); }}>
          <option value="">All tenants</option>
          {tenants.data?.map((row) => (
            <option key={row.id} value={row.name}>
              {row.name}
            </option>
          ))}
        </select>
        <select aria-label="State" value={state} onChange={(event) => { filter(() => { setState(event.target.value as JobStateFilter | ""); }); }}>
          <option value="">Any state</option>
          <option value="enabled">Enabled</option>
          <option value="disabled">Disabled</option>
          <option value="auto_disabled">Auto-disabled</option>
          <option value="paused">Paused</option>
          <option value="failing">Failing</option>
        </select>
        <select aria-label="Handler" value={handler} onChange={(event) => { filter(() => { setHandler(event.target.value as HandlerKind | ""); }); }}>
          <option value="">Any handler</option>
          <option value="http">HTTP</option>
          <option value="command">Command</option>
          <option value="named">Named</option>
        </select>
      </div>
      {jobs.isError && <p className="form-error" role="alert">{describeFailure(jobs.error)}</p>}
      <div className="bulk-bar" data-testid="bulk-bar">
        <span data-testid="bulk-selected">
          {selected === 0 ? "No jobs selected" : selection.kind === "matching" ? `All ${count(total, "job")} that match selected` : `${count(selected, "job")} selected`}
        </span>
        {selection.kind === "rows" && total > 0 && (
          <button type="button" className="link" onClick={() => { setSelection({ kind: "matching" }); }}>
            {`Select all ${count(total, "job")} that match`}
          </button>
        )}
        {selected > 0 && (
          <button type="button" className="link" onClick={() => { setSelection(NOTHING_SELECTED); }}>
            Clear selection
          </button>
        )}
        {(["pause", "resume", "enable", "disable"] as const).map((action) => (
          <button
            key={action}
            type="button"
            disabled={selected === 0 || bulk.isPending || !access.canSomewhere("operate")}
            title={access.canSomewhere("operate") ? undefined : "Your role may not operate jobs in any tenant."}
            onClick={() => { guard(actionLabel(action, selected), () => { bulk.mutate(action); }); }}
          >
            {actionLabel(action, selected)}
          </button>
        ))}
        <span className="bulk-status" role="status" aria-live="polite">
          {bulk.isPending ? "Working…" : bulkMessage}
        </span>
      </div>
      {bulk.isError && <p className="form-error" role="alert" data-testid="bulk-error">{describeFailure(bulk.error)}</p>}
      {dialog}
      <table className="grid" data-testid="jobs-table" aria-busy={jobs.isFetching}>
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => (
                <th key={header.id} aria-sort={sortState(header.column.getIsSorted())}>
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
            <tr key={row.id} data-job={row.original.name}>
              {row.getVisibleCells().map((cell) => (
                <td key={cell.id}>{flexRender(cell.column.columnDef.cell, cell.getContext())}</td>
              ))}
            </tr>
          ))}
          {jobs.data?.rows.length === 0 && (
            <tr>
              <td colSpan={columns.length} className="empty">
                No jobs match.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <div className="pager">
        <span data-testid="jobs-range">
          {first}–{last} of {total.toLocaleString("en")}
        </span>
        <button type="button" disabled={page === 0} onClick={() => { setCursors(cursors.slice(0, -1)); }}>
          Previous
        </button>
        <span>
          page {page + 1} of {pages}
        </span>
        <button
          type="button"
          disabled={nextCursor === null || jobs.isPlaceholderData}
          onClick={() => { if (nextCursor !== null) setCursors([...cursors, nextCursor]); }}
        >
          Next
        </button>
      </div>
    </section>
  );
}
