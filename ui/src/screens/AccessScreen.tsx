import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import type { Capability, GrantInput, RoleView } from "../bindings";
import { commands, describeFailure, unwrap } from "../lib/commands";
import { TENANTS_KEY } from "../lib/keys";

const ACCESS_KEY = ["access"] as const;

/** Who may do what (admins, Postgres): each role with its grants, a grant form (the password
 * typed here goes to the database as a verifier and is never shown again), and revoke. */
export function AccessScreen() {
  const queryClient = useQueryClient();
  const roles = useQuery({ queryKey: ACCESS_KEY, queryFn: () => unwrap(commands.listAccess()) });
  const tenants = useQuery({ queryKey: TENANTS_KEY, queryFn: () => unwrap(commands.listTenants()) });
  const [role, setRole] = useState("");
  const [capability, setCapability] = useState<Capability>("view");
  const [chosen, setChosen] = useState<string[]>([]);
  const [password, setPassword] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const done = (text: string) => (rows: RoleView[]) => {
    queryClient.setQueryData(ACCESS_KEY, rows);
    setMessage(text);
  };
  const grant = useMutation({
    mutationFn: (input: GrantInput) => unwrap(commands.grantAccess(input)),
    onSuccess: (rows, input) => {
      // The password leaves the form as soon as it is sent.
      setPassword("");
      done(`Granted ${input.capability} to ${input.role}${input.tenants.length > 0 ? ` in ${input.tenants.join(", ")}` : ""}.`)(rows);
    },
    onError: () => { setPassword(""); },
  });
  const revoke = useMutation({
    mutationFn: ({ role: name, tenant }: { role: string; tenant: string | null }) => unwrap(commands.revokeAccess(name, tenant)),
    onSuccess: (rows, { role: name, tenant }) => { done(tenant === null ? `Revoked every grant of ${name}.` : `Revoked ${name}'s grant in ${tenant}.`)(rows); },
  });
  const failure = grant.error ?? revoke.error;
  return (
    <section className="panel" aria-label="Access">
      <div className="panel-head">
        <h1>Access</h1>
      </div>
      {roles.isError && <p className="form-error" role="alert">{describeFailure(roles.error)}</p>}
      <table className="grid" data-testid="access-table">
        <thead>
          <tr><th>Role</th><th>Grants</th><th /></tr>
        </thead>
        <tbody>
          {roles.data?.map((row) => (
            <tr key={row.role} data-role={row.role}>
              <td>{row.role}{row.admin && <> <span className="badge ok">admin</span></>}{!row.login && <> <span className="meta">(cannot log in)</span></>}</td>
              <td>
                {row.grants.length === 0 ? "—" : row.grants.map((entry) => (
                  <span key={entry.tenant} className="grant">
                    {entry.tenant}: {entry.capability}{" "}
                    <button type="button" className="link" aria-label={`Revoke ${row.role} in ${entry.tenant}`} onClick={() => { revoke.mutate({ role: row.role, tenant: entry.tenant }); }}>revoke</button>
                    {" "}
                  </span>
                ))}
              </td>
              <td>
                <button type="button" aria-label={`Revoke every grant of ${row.role}`} onClick={() => { revoke.mutate({ role: row.role, tenant: null }); }}>Revoke all</button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="inline-form"
        aria-label="Grant"
        onSubmit={(event) => {
          event.preventDefault();
          setMessage(null);
          grant.mutate({ role, tenants: capability === "admin" ? [] : chosen, capability, password: password === "" ? null : password });
        }}
      >
        <div className="row">
          <div className="field">
            <label htmlFor="grant-role">Role</label>
            <input id="grant-role" value={role} onChange={(event) => { setRole(event.target.value); }} autoComplete="off" />
          </div>
          <div className="field">
            <label htmlFor="grant-capability">Capability</label>
            <select id="grant-capability" value={capability} onChange={(event) => { setCapability(event.target.value as Capability); }}>
              <option value="view">view</option>
              <option value="operate">operate</option>
              <option value="edit">edit</option>
              <option value="admin">admin (every tenant)</option>
            </select>
          </div>
          <div className="field">
            <label htmlFor="grant-tenants">Tenants</label>
            <select id="grant-tenants" multiple disabled={capability === "admin"} value={chosen} onChange={(event) => { setChosen([...event.target.selectedOptions].map((option) => option.value)); }}>
              {tenants.data?.map((tenant) => <option key={tenant.id} value={tenant.name}>{tenant.name}</option>)}
            </select>
          </div>
          <div className="field">
            <label htmlFor="grant-password">New password (optional)</label>
            <input id="grant-password" type="password" autoComplete="new-password" value={password} onChange={(event) => { setPassword(event.target.value); }} />
            <span className="hint">Sent to the database as a verifier; never shown again.</span>
          </div>
        </div>
        <button type="submit" className="primary" disabled={grant.isPending || role.trim() === ""}>Grant</button>
      </form>
      <p className="meta" role="status" data-testid="access-status">{message}</p>
      {failure !== null && <p className="form-error" role="alert" data-testid="access-error">{describeFailure(failure)}</p>}
    </section>
  );
}
