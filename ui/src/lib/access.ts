// What the current database role may do, as the console shows it: buttons for actions the
// role lacks are disabled with a reason, instead of failing after a click. The database still
// decides every statement; a refusal that gets through arrives as the typed `forbidden` error.
import { useQuery } from "@tanstack/react-query";

import type { Capability, Whoami } from "../bindings";
import { commands, unwrap } from "./commands";
import { WHOAMI_KEY } from "./keys";

/** Each capability includes the ones before it. */
const RANK: Record<Capability, number> = { view: 0, operate: 1, edit: 2, admin: 3 };

/** The capability `whoami` has in `tenant` (`admin` for an admin), or `null`. */
export function capabilityIn(whoami: Whoami, tenant: string): Capability | null {
  if (whoami.admin) return "admin";
  return whoami.grants.find((grant) => grant.tenant === tenant)?.capability ?? null;
}

/** Whether `whoami` may do what needs `needed` in `tenant` (`null`: an admin-only action). */
export function allows(whoami: Whoami | undefined, needed: Capability, tenant: string | null): boolean {
  if (whoami === undefined) return false;
  if (whoami.admin) return true;
  if (needed === "admin" || tenant === null) return false;
  const has = capabilityIn(whoami, tenant);
  return has !== null && RANK[has] >= RANK[needed];
}

/** Whether `whoami` has `needed` in at least one tenant (for "New job" before a tenant is chosen). */
export function allowsSomewhere(whoami: Whoami | undefined, needed: Capability): boolean {
  if (whoami === undefined) return false;
  return whoami.admin || whoami.grants.some((grant) => RANK[grant.capability] >= RANK[needed]);
}

/** Why a control is disabled, for its tooltip; `null` when it is allowed. */
export function deniedReason(whoami: Whoami | undefined, needed: Capability, tenant: string | null): string | null {
  if (allows(whoami, needed, tenant)) return null;
  if (whoami === undefined) return "Checking what your role may do…";
  if (needed === "admin" || tenant === null) return `Only admins may do this; you are ${whoami.role}.`;
  const has = capabilityIn(whoami, tenant);
  return has === null
    ? `Your role ${whoami.role} has no access to tenant ${tenant}; this needs ${needed}.`
    : `Your role ${whoami.role} may ${has} in tenant ${tenant}; this needs ${needed}.`;
}

/** The current role, asked once per open database (the connection change clears it). */
export function useWhoami(): Whoami | undefined {
  const whoami = useQuery({ queryKey: WHOAMI_KEY, queryFn: () => unwrap(commands.whoami()), staleTime: 60_000 });
  return whoami.data;
}

/** What the current role may do: `can(needed, tenant)` and `why(needed, tenant)`. */
export function useAccess() {
  const whoami = useWhoami();
  return {
    whoami,
    can: (needed: Capability, tenant: string | null) => allows(whoami, needed, tenant),
    canSomewhere: (needed: Capability) => allowsSomewhere(whoami, needed),
    why: (needed: Capability, tenant: string | null) => deniedReason(whoami, needed, tenant) ?? undefined,
  };
}
