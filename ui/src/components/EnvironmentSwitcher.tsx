import { useMutation, useQuery } from "@tanstack/react-query";

import type { ConnectionStatus } from "../bindings";
import { commands, describeFailure, unwrap } from "../lib/commands";
import { PROFILES_KEY } from "../lib/keys";

/** The header's environment: the active profile's name on its colour (always visible), and a
 * switcher between the saved profiles. */
export function EnvironmentSwitcher({ status, onStatus }: { status: ConnectionStatus; onStatus: (status: ConnectionStatus) => void }) {
  const profiles = useQuery({ queryKey: PROFILES_KEY, queryFn: () => unwrap(commands.listProfiles()) });
  const open = useMutation({
    mutationFn: (name: string) => unwrap(commands.openProfile(name)),
    onSuccess: onStatus,
  });
  const environment = status.environment;
  return (
    <span className="environment-switcher">
      {environment !== null && (
        <span className="environment" data-testid="environment-badge" style={{ background: environment.colour }} title={environment.production ? "Production: destructive actions ask first" : undefined}>
          {environment.name}
          {environment.production && <strong> · PRODUCTION</strong>}
        </span>
      )}
      {(profiles.data?.length ?? 0) > 0 && (
        <select
          aria-label="Environment"
          value={environment?.name ?? ""}
          disabled={open.isPending}
          onChange={(event) => { if (event.target.value !== "") open.mutate(event.target.value); }}
        >
          {environment === null && <option value="">No saved environment</option>}
          {profiles.data?.map((profile) => (
            <option key={profile.name} value={profile.name}>
              {profile.name}{profile.production ? " (production)" : ""}
            </option>
          ))}
        </select>
      )}
      {open.isError && <span className="form-error" role="alert">{describeFailure(open.error)}</span>}
    </span>
  );
}
