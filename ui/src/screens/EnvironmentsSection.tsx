import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useForm } from "react-hook-form";

import type { ConnectionStatus } from "../bindings";
import { FieldError } from "../components/FieldError";
import { commandError, commands, describeFailure, unwrap } from "../lib/commands";
import { PROFILES_KEY } from "../lib/keys";

interface ProfileForm {
  name: string;
  url: string;
  colour: string;
  production: boolean;
  password: string;
}

const EMPTY: ProfileForm = { name: "", url: "", colour: "#2563eb", production: false, password: "" };

/** Saved connection profiles (environments): add, replace (same name), open, delete. The URL is
 * saved without its password; a password goes to the OS keyring. */
export function EnvironmentsSection({ onStatus }: { onStatus: (status: ConnectionStatus) => void }) {
  const queryClient = useQueryClient();
  const profiles = useQuery({ queryKey: PROFILES_KEY, queryFn: () => unwrap(commands.listProfiles()) });
  const { register, handleSubmit, setError, formState, reset } = useForm<ProfileForm>({ defaultValues: EMPTY });
  const save = useMutation({
    mutationFn: (form: ProfileForm) =>
      unwrap(commands.saveProfile({ name: form.name, url: form.url, colour: form.colour, production: form.production, password: form.password === "" ? null : form.password })),
    onSuccess: (saved) => {
      queryClient.setQueryData(PROFILES_KEY, saved);
      reset(EMPTY);
    },
    onError: (thrown) => {
      const error = commandError(thrown);
      if (error?.field === "name" || error?.field === "url" || error?.field === "colour") setError(error.field, { message: error.message });
    },
  });
  const remove = useMutation({
    mutationFn: (name: string) => unwrap(commands.deleteProfile(name)),
    onSuccess: (saved) => { queryClient.setQueryData(PROFILES_KEY, saved); },
  });
  const open = useMutation({ mutationFn: (name: string) => unwrap(commands.openProfile(name)), onSuccess: onStatus });
  const error = commandError(save.error);
  const errors = formState.errors;
  return (
    <section aria-label="Environments">
      <h2>Environments</h2>
      <p className="hint">Saved connections, switched from the header. On a production environment, destructive actions ask first.</p>
      <table className="grid" data-testid="profiles-table">
        <thead>
          <tr><th>Name</th><th>Database</th><th>Production</th><th /></tr>
        </thead>
        <tbody>
          {profiles.data?.map((profile) => (
            <tr key={profile.name} data-profile={profile.name}>
              <td><span className="environment-swatch" style={{ background: profile.colour }} /> {profile.name}{profile.active && " (open)"}</td>
              <td><code>{profile.url}</code></td>
              <td>{profile.production ? "yes" : "no"}</td>
              <td className="actions">
                <button type="button" disabled={open.isPending} onClick={() => { open.mutate(profile.name); }} aria-label={`Open ${profile.name}`}>Open</button>
                <button type="button" className="danger" disabled={remove.isPending} onClick={() => { remove.mutate(profile.name); }} aria-label={`Delete ${profile.name}`}>Delete</button>
              </td>
            </tr>
          ))}
          {profiles.data?.length === 0 && (
            <tr><td colSpan={4} className="empty">No saved environments yet.</td></tr>
          )}
        </tbody>
      </table>
      {(open.isError || remove.isError) && <p className="form-error" role="alert">{describeFailure(open.error ?? remove.error)}</p>}
      <form className="inline-form" aria-label="Save environment" noValidate onSubmit={(event) => void handleSubmit((form) => { save.mutate(form); })(event)}>
        <div className="row">
          <div className="field">
            <label htmlFor="profile-name">Name</label>
            <input id="profile-name" aria-invalid={errors.name ? true : undefined} aria-describedby="profile-name-error" {...register("name")} />
            <FieldError id="profile-name-error" message={errors.name?.message} />
          </div>
          <div className="field grow">
            <label htmlFor="profile-url">Database URL</label>
            <input id="profile-url" placeholder="postgres://you@db.internal/rota" aria-invalid={errors.url ? true : undefined} aria-describedby="profile-url-error" {...register("url")} />
            <FieldError id="profile-url-error" message={errors.url?.message} />
          </div>
          <div className="field">
            <label htmlFor="profile-password">Password (kept in the keyring)</label>
            <input id="profile-password" type="password" autoComplete="off" {...register("password")} />
          </div>
          <div className="field">
            <label htmlFor="profile-colour">Colour</label>
            <input id="profile-colour" type="color" aria-invalid={errors.colour ? true : undefined} aria-describedby="profile-colour-error" {...register("colour")} />
            <FieldError id="profile-colour-error" message={errors.colour?.message} />
          </div>
          <label className="check">
            <input type="checkbox" {...register("production")} /> Production
          </label>
        </div>
        <button type="submit" className="primary" disabled={save.isPending}>Save environment</button>
        {save.isError && error?.field !== "name" && error?.field !== "url" && error?.field !== "colour" && <p className="form-error" role="alert">{describeFailure(save.error)}</p>}
      </form>
    </section>
  );
}
