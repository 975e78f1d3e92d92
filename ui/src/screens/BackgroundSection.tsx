// Local mode in the background: who executes the local database's jobs (this app while its
// window is open, or the user service it attached to), the user service's controls, and the
// question the app asks when its window is closed while it executes the jobs.
import { useEffect, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { events, type BackgroundStatus } from "../bindings";
import { commands, describeFailure, unwrap } from "../lib/commands";
import { BACKGROUND_KEY } from "../lib/keys";

/** How often Local mode rereads who executes the jobs (the service may be stopped outside the
 * app, and the app then takes over). */
const BACKGROUND_POLL_MS = 5000;

/** The background state; polled while Local mode is open. */
export function useBackground(local: boolean) {
  return useQuery({
    queryKey: BACKGROUND_KEY,
    queryFn: () => unwrap(commands.backgroundStatus()),
    enabled: local,
    refetchInterval: local ? BACKGROUND_POLL_MS : false,
  });
}

/** Who executes the jobs, in words. */
export function describeExecutor(background: BackgroundStatus): string {
  switch (background.executor) {
    case "app":
      return "this app, while its window is open";
    case "elsewhere":
      return background.service === "installed" && background.active === "active"
        ? `the background service (${background.holder ?? "rota serve"})`
        : `another process: ${background.holder ?? "rota serve"}`;
    case "nobody":
      return "nobody on this computer";
  }
}

function useServiceAction(action: () => Promise<BackgroundStatus>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: action,
    onSuccess: (status) => { queryClient.setQueryData(BACKGROUND_KEY, status); },
  });
}

/** The Connection screen's part for Local mode. */
export function BackgroundSection() {
  const background = useBackground(true);
  const install = useServiceAction(() => unwrap(commands.runInBackground()));
  const stop = useServiceAction(() => unwrap(commands.stopService()));
  const restart = useServiceAction(() => unwrap(commands.restartService()));
  const remove = useServiceAction(() => unwrap(commands.removeService()));
  const busy = install.isPending || stop.isPending || restart.isPending || remove.isPending;
  const failed = [install, stop, restart, remove].find((action) => action.isError);
  if (background.data === undefined) return null;
  const state = background.data;
  return (
    <section aria-label="Background" className="inline-form" data-testid="background">
      <h2>Running in the background</h2>
      <dl className="facts">
        <dt>Jobs executed by</dt>
        <dd data-testid="executor">{describeExecutor(state)}</dd>
        <dt>User service</dt>
        <dd data-testid="service-state">
          {state.service === "unavailable" && `not available: ${state.reason ?? ""}`}
          {state.service === "not_installed" && "not installed"}
          {state.service === "installed" && `${state.active ?? "unknown"}${state.enabled ? ", starts at login" : ""}`}
        </dd>
      </dl>
      {state.service === "unavailable" ? (
        <p className="hint">Without a systemd user session, the jobs run while this window is open; closing it asks whether to stop them.</p>
      ) : (
        <div className="buttons">
          {(state.service === "not_installed" || state.executor === "app") && (
            <button type="button" className="primary" disabled={busy} onClick={() => { install.mutate(); }}>
              Keep running when the window is closed and start at login
            </button>
          )}
          {state.service === "installed" && (
            <>
              <button type="button" disabled={busy} onClick={() => { stop.mutate(); }}>Stop service</button>
              <button type="button" disabled={busy} onClick={() => { restart.mutate(); }}>Restart service</button>
              <button type="button" className="danger" disabled={busy} onClick={() => { remove.mutate(); }}>Remove service</button>
            </>
          )}
        </div>
      )}
      {failed !== undefined && <p className="form-error" role="alert">{describeFailure(failed.error)}</p>}
    </section>
  );
}

/** Asks, when the window is closed while this app executes the local jobs, whether to stop
 * them or keep them running in the background. Rendered once by the shell. */
export function CloseDialog() {
  const [asked, setAsked] = useState(false);
  const queryClient = useQueryClient();
  useEffect(() => {
    let stop: (() => void) | null = null;
    let cancelled = false;
    void events.closeRequested
      .listen(() => { setAsked(true); })
      .then((unlisten) => {
        if (cancelled) unlisten();
        else stop = unlisten;
      });
    return () => {
      cancelled = true;
      stop?.();
    };
  }, []);
  const background = useQuery({
    queryKey: BACKGROUND_KEY,
    queryFn: () => unwrap(commands.backgroundStatus()),
    enabled: asked,
  });
  const quit = useMutation({ mutationFn: () => unwrap(commands.quitApp()) });
  const tray = useMutation({
    mutationFn: () => unwrap(commands.keepInTray()),
    onSuccess: () => { setAsked(false); },
  });
  const keep = useMutation({
    mutationFn: () => unwrap(commands.runInBackground()),
    onSuccess: (status) => {
      queryClient.setQueryData(BACKGROUND_KEY, status);
      quit.mutate();
    },
  });
  if (!asked) return null;
  const serviceAvailable = background.data !== undefined && background.data.service !== "unavailable";
  const busy = keep.isPending || quit.isPending || tray.isPending;
  return (
    <div className="confirm" role="alertdialog" aria-modal="true" aria-labelledby="close-title" aria-describedby="close-text" data-testid="close-dialog">
      <h2 id="close-title">Stop the scheduler?</h2>
      <p id="close-text">
        This app executes the local database's jobs while its window is open. Closing it stops them until the app is opened again.
        The tray keeps them running while you are logged in; the background service also after a reboot.
        {background.data?.service === "unavailable" && ` A background service is not available here (${background.data.reason ?? ""}).`}
      </p>
      <div className="buttons">
        {serviceAvailable && (
          <button type="button" className="primary" disabled={busy} onClick={() => { keep.mutate(); }}>
            Keep running in the background
          </button>
        )}
        {background.data?.tray === true && (
          <button type="button" disabled={busy} onClick={() => { tray.mutate(); }}>
            Keep running in the tray
          </button>
        )}
        <button type="button" className="danger" disabled={busy} onClick={() => { quit.mutate(); }}>
          Stop the scheduler and close
        </button>
        <button type="button" disabled={busy} onClick={() => { setAsked(false); keep.reset(); }}>Cancel</button>
      </div>
      {keep.isError && <p className="form-error" role="alert">{describeFailure(keep.error)}</p>}
      {tray.isError && <p className="form-error" role="alert">{describeFailure(tray.error)}</p>}
    </div>
  );
}
