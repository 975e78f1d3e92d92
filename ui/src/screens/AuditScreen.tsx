import { useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";

import type { AuditQuery } from "../bindings";
import { CHANGES_SHOWN, changedFields, createdDefinition, type FieldChange } from "../lib/audit";
import { commands, describeFailure, unwrap } from "../lib/commands";
import { count } from "../lib/count";
import { TENANTS_KEY } from "../lib/keys";
import { shortInstant, viewerTimeZone } from "../lib/time";
import { useDebounced } from "../lib/useDebounced";

const SINCE: { label: string; hours: number | null }[] = [
  { label: "Last 24 hours", hours: 24 },
  { label: "Last 7 days", hours: 24 * 7 },
  { label: "Last 30 days", hours: 24 * 30 },
  { label: "Any time", hours: null },
];

/** The most entries the view loads. */
const LIMIT = 500;

/** Who changed what and when, filtered by tenant, job and time. */
export function AuditScreen() {
  const zone = viewerTimeZone();
  const [tenant, setTenant] = useState("");
  const [job, setJob] = useState("");
  const [sinceHours, setSinceHours] = useState<number | null>(24 * 7);
  // The window starts when the filter was chosen (refetches keep it).
  const [since] = useState(() => Date.now());
  const jobFilter = useDebounced(job, 250);
  const query: AuditQuery = {
    tenant: tenant === "" ? null : tenant,
    job: jobFilter.trim() === "" ? null : jobFilter.trim(),
    since: sinceHours === null ? null : new Date(since - sinceHours * 3_600_000).toISOString(),
    limit: LIMIT,
  };
  const entries = useQuery({ queryKey: ["audit", query], queryFn: () => unwrap(commands.listAudit(query)), placeholderData: keepPreviousData, refetchInterval: 10_000 });
  const tenants = useQuery({ queryKey: TENANTS_KEY, queryFn: () => unwrap(commands.listTenants()) });
  return (
    <section className="panel">
      <div className="panel-head">
        <h1>Audit log</h1>
      </div>
      <div className="filters" role="search">
        <select aria-label="Tenant" value={tenant} onChange={(event) => { setTenant(event.target.value); }}>
          <option value="">All tenants</option>
          {tenants.data?.map((row) => <option key={row.id} value={row.name}>{row.name}</option>)}
        </select>
        <input type="search" aria-label="Job name" placeholder="Job name" value={job} onChange={(event) => { setJob(event.target.value); }} />
        <select aria-label="Since" value={sinceHours ?? ""} onChange={(event) => { setSinceHours(event.target.value === "" ? null : Number(event.target.value)); }}>
          {SINCE.map((option) => <option key={option.label} value={option.hours ?? ""}>{option.label}</option>)}
        </select>
      </div>
      {entries.isError && <p className="form-error" role="alert">{describeFailure(entries.error)}</p>}
      <table className="grid compact" data-testid="audit-table" aria-busy={entries.isFetching}>
        <thead>
          <tr>
            <th>When ({zone})</th>
            <th>Operator</th>
            <th>Action</th>
            <th>About</th>
            <th>Changes</th>
          </tr>
        </thead>
        <tbody>
          {entries.data?.map((entry) => (
            <tr key={entry.id} data-action={entry.action}>
              <td title={entry.at}>{shortInstant(entry.at, zone)}</td>
              <td>{entry.operator}</td>
              <td><code>{entry.action}</code></td>
              <td>{[entry.tenant, entry.job ?? entry.handler].filter((part) => part !== null).join(" / ")}</td>
              <td>
                <EntryChanges action={entry.action} before={entry.before} after={entry.after} />
              </td>
            </tr>
          ))}
          {entries.data?.length === 0 && (
            <tr>
              <td colSpan={5} className="empty">No changes match.</td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

/** Every changed field, the first few in view and the rest folded under their count; a
 * created job's entry leads with its definition. */
function EntryChanges({ action, before, after }: { action: string; before: string | null; after: string | null }) {
  const changes = changedFields(before, after);
  const created = createdDefinition(action, after);
  const item = (change: FieldChange) => (
    <li key={change.field}>
      <code>{change.field}</code>: {change.before} → {change.after}
    </li>
  );
  const rest = changes.slice(CHANGES_SHOWN);
  return (
    <>
      {created !== null && (
        <p className="created" data-testid="audit-created">
          <strong>{created.name}</strong> · <code>{created.schedule}</code> ({created.timezone}){created.handler !== null && <> · <code>{created.handler}</code></>}
        </p>
      )}
      <ul className="changes">{changes.slice(0, CHANGES_SHOWN).map(item)}</ul>
      {rest.length > 0 && (
        <details>
          <summary>{count(rest.length, "more field")}</summary>
          <ul className="changes">{rest.map(item)}</ul>
        </details>
      )}
    </>
  );
}
