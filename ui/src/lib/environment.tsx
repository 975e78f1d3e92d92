// The environment the console is connected to (a saved profile: name, colour, production),
// and the confirmation destructive actions ask for on production, naming the environment.
import { useState, type ReactNode } from "react";
import { useQuery } from "@tanstack/react-query";

import type { Environment } from "../bindings";
import { commands, unwrap } from "./commands";
import { CONNECTION_KEY } from "./keys";

/** Backfills creating more runs than this are destructive enough to confirm on production. */
export const LARGE_BACKFILL = 100;

/** The open connection's environment, or `null` when it is not a saved profile's. */
export function useEnvironment(): Environment | null {
  const connection = useQuery({ queryKey: CONNECTION_KEY, queryFn: () => unwrap(commands.connectionStatus()), staleTime: Infinity });
  return connection.data?.environment ?? null;
}

/** `guard(action, run)` runs `run` at once, except on a production environment, where it first
 * asks in `dialog` (render it) whether to `action` there, naming the environment. */
export function useProductionGuard(): { guard: (action: string, run: () => void) => void; dialog: ReactNode } {
  const environment = useEnvironment();
  const [pending, setPending] = useState<{ action: string; run: () => void } | null>(null);
  const guard = (action: string, run: () => void) => {
    if (environment?.production === true) setPending({ action, run });
    else run();
  };
  const dialog =
    pending === null || environment === null ? null : (
      <div className="confirm" role="alertdialog" aria-modal="true" aria-labelledby="production-confirm-title" aria-describedby="production-confirm-text" data-testid="production-confirm">
        <h2 id="production-confirm-title">
          <span className="environment-swatch" style={{ background: environment.colour }} /> Production: {environment.name}
        </h2>
        <p id="production-confirm-text">
          {pending.action} in the production environment <strong>{environment.name}</strong>?
        </p>
        <div className="buttons">
          <button
            type="button"
            className="danger"
            onClick={() => {
              const { run } = pending;
              setPending(null);
              run();
            }}
          >
            {`Yes, in ${environment.name}`}
          </button>
          <button type="button" onClick={() => { setPending(null); }}>Cancel</button>
        </div>
      </div>
    );
  return { guard, dialog };
}
