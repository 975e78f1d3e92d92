import { useEffect, useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { FormProvider, useForm } from "react-hook-form";

import type { JobDetail } from "../bindings";
import { FieldError } from "../components/FieldError";
import { useAccess } from "../lib/access";
import { commandError, commands, describeFailure, unwrap } from "../lib/commands";
import { count } from "../lib/count";
import { WHOLE_NUMBER, jsonProblem } from "../lib/fields";
import { JOBS_KEY, TENANTS_KEY } from "../lib/keys";
import { markSaved, useUnsavedChanges } from "../lib/unsaved";
import { STATE_LABEL } from "./JobsScreen";
import { ConflictPanel } from "./ConflictPanel";
import { HandlerFields } from "./HandlerFields";
import { PolicyFields } from "./PolicyFields";
import { SchedulePanel } from "./SchedulePanel";
import { TestRunPanel } from "./TestRunPanel";
import { WhatIfPanel } from "./WhatIfPanel";
import { EMPTY_JOB, formFieldOf, formFromInput, inputFromForm, type JobForm } from "./jobForm";

/** A stale save: the job as it is stored now, to show next to the user's edit. */
interface Conflict {
  theirs: JobDetail;
}

/** Creates a job (no `jobId`) or edits one, with optimistic concurrency. */
export function JobEditor({
  jobId,
  initialTenant,
  onClose,
  onSaved,
}: {
  jobId?: string;
  initialTenant?: string | undefined;
  onClose: () => void;
  onSaved: (id: string) => void;
}) {
  const queryClient = useQueryClient();
  const job = useQuery({
    queryKey: ["job", jobId],
    queryFn: () => unwrap(commands.getJob(jobId ?? "")),
    enabled: jobId !== undefined,
    staleTime: Infinity,
  });
  const tenants = useQuery({ queryKey: TENANTS_KEY, queryFn: () => unwrap(commands.listTenants()) });
  const access = useAccess();
  const form = useForm<JobForm>({ defaultValues: { ...EMPTY_JOB, tenant: initialTenant ?? "" } });
  /** The version this edit is based on. */
  const [baseVersion, setBaseVersion] = useState<string | null>(null);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [saved, setSaved] = useState(false);
  /** The editor's latest test run, followed by the panel below the buttons. */
  const [testRunId, setTestRunId] = useState<string | null>(null);
  const [testing, setTesting] = useState(false);
  const guardKey = jobId === undefined ? "new job" : "job definition";
  useUnsavedChanges(guardKey, form.formState.isDirty && !form.formState.isSubmitSuccessful);

  // Load the stored job into the form once (and again when the user takes theirs).
  const loaded = job.data;
  useEffect(() => {
    if (loaded !== undefined) {
      form.reset(formFromInput(loaded.tenant, loaded.definition));
      setBaseVersion(loaded.version);
    }
  }, [loaded, form]);

  // A new job goes into a tenant the role may edit: the first one unless one was chosen.
  const editable = (name: string) => access.can("edit", name);
  const tenantNames = tenants.data?.map((row) => row.name).filter((name) => jobId !== undefined || editable(name)) ?? [];
  const firstTenant = tenantNames[0];
  useEffect(() => {
    if (jobId === undefined && form.getValues("tenant") === "" && firstTenant !== undefined) {
      form.setValue("tenant", firstTenant);
    }
  }, [jobId, firstTenant, form]);

  /** A refusal naming a field marks that field; anything else is shown above the form. */
  const showFailure = (thrown: unknown) => {
    const error = commandError(thrown);
    const field = error?.field === null || error?.field === undefined ? null : formFieldOf(error.field);
    if (error !== null && field !== null) {
      form.setError(field, { message: error.message }, { shouldFocus: true });
    } else {
      setProblem(describeFailure(thrown));
    }
  };

  /** Runs the form's definition once, unsaved (validated by the core as a save is). The form
   * stays as it is: still unsaved, still guarded. */
  const testRun = async () => {
    setProblem(null);
    setSaved(false);
    if (!(await form.trigger())) return;
    const values = form.getValues();
    setTesting(true);
    try {
      const attempt = await unwrap(commands.testRun(values.tenant, jobId ?? null, inputFromForm(values)));
      queryClient.setQueryData(["run", attempt.run.id], attempt);
      setTestRunId(attempt.run.id);
    } catch (thrown) {
      showFailure(thrown);
    } finally {
      setTesting(false);
    }
  };

  const save = async (values: JobForm, version: string | null) => {
    setProblem(null);
    setSaved(false);
    const input = inputFromForm(values);
    try {
      const stored =
        jobId === undefined || version === null
          ? await unwrap(commands.createJob(values.tenant, input))
          : await unwrap(commands.updateJob(jobId, version, input));
      setConflict(null);
      setSaved(true);
      queryClient.setQueryData(["job", stored.id], stored);
      void queryClient.invalidateQueries({ queryKey: JOBS_KEY });
      void queryClient.invalidateQueries({ queryKey: TENANTS_KEY });
      if (jobId === undefined) {
        markSaved(guardKey);
        onSaved(stored.id);
      } else {
        form.reset(formFromInput(stored.tenant, stored.definition));
        setBaseVersion(stored.version);
      }
    } catch (thrown) {
      const error = commandError(thrown);
      if (error?.code === "stale_version" && jobId !== undefined) {
        try {
          setConflict({ theirs: await unwrap(commands.getJob(jobId)) });
        } catch (reload) {
          setProblem(describeFailure(reload));
        }
        return;
      }
      showFailure(thrown);
    }
  };

  if (jobId !== undefined && job.isPending) return <p className="panel">Loading…</p>;
  if (jobId !== undefined && job.isError) {
    return (
      <section className="panel">
        <p className="form-error" role="alert">{describeFailure(job.error)}</p>
        <button type="button" onClick={onClose}>Back to jobs</button>
      </section>
    );
  }
  const { register, formState, handleSubmit } = form;
  const errors = formState.errors;
  const payloadProblem = jsonProblem(form.watch("payload"));
  const title = jobId === undefined ? "New job" : `${loaded?.tenant ?? ""} / ${loaded?.definition.name ?? ""}`;
  const tenant = loaded?.tenant ?? form.watch("tenant");
  const denied = access.why("edit", tenant === "" ? null : tenant);

  return (
    <FormProvider {...form}>
      <form
        className="panel editor"
        aria-label="Job editor"
        noValidate
        onSubmit={(event) => void handleSubmit((values) => save(values, baseVersion))(event)}
      >
        <div className="panel-head">
          <h1>{title}</h1>
          <div className="buttons">
            <button type="button" onClick={onClose}>Back to jobs</button>
            <button
              type="button"
              title={denied ?? "Runs this definition once now, unsaved, and shows its output here"}
              disabled={testing || payloadProblem !== null || denied !== undefined}
              onClick={() => void testRun()}
            >
              Test run
            </button>
            <button type="submit" className="primary" title={denied} disabled={formState.isSubmitting || payloadProblem !== null || denied !== undefined}>
              {jobId === undefined ? "Create job" : "Save"}
            </button>
          </div>
        </div>
        {loaded !== undefined && (
          <p className="meta" data-testid="job-meta">
            version {baseVersion} · <span className="badge">{STATE_LABEL[loaded.state]}</span>
            {loaded.disabledReason !== null && <> · {loaded.disabledReason}</>}
            {loaded.consecutiveFailures > 0 && <> · {count(loaded.consecutiveFailures, "failure", { adjective: "consecutive" })}</>}
          </p>
        )}
        {denied !== undefined && access.whoami !== undefined && <p className="meta" data-testid="edit-denied">{denied}</p>}
        {saved && <p className="saved" role="status">Saved.</p>}
        {problem !== null && <p className="form-error" role="alert">{problem}</p>}
        {testRunId !== null && <TestRunPanel runId={testRunId} />}
        {conflict !== null && (
          <ConflictPanel
            mine={inputFromForm(form.getValues())}
            theirs={conflict.theirs}
            onTakeTheirs={() => {
              form.reset(formFromInput(conflict.theirs.tenant, conflict.theirs.definition));
              setBaseVersion(conflict.theirs.version);
              queryClient.setQueryData(["job", jobId], conflict.theirs);
              setConflict(null);
            }}
            onKeepMine={() => void save(form.getValues(), conflict.theirs.version)}
          />
        )}

        <fieldset>
          <legend>Job</legend>
          <div className="row">
            <div className="field">
              <label htmlFor="job-tenant">Tenant</label>
              <select id="job-tenant" disabled={jobId !== undefined} aria-describedby="job-tenant-error" {...register("tenant")}>
                {tenantNames.map((name) => (
                  <option key={name} value={name}>{name}</option>
                ))}
                {jobId !== undefined && loaded !== undefined && !tenantNames.includes(loaded.tenant) && (
                  <option value={loaded.tenant}>{loaded.tenant}</option>
                )}
              </select>
              <FieldError id="job-tenant-error" message={errors.tenant?.message} />
            </div>
            <div className="field grow">
              <label htmlFor="job-name">Name</label>
              <input id="job-name" aria-invalid={errors.name ? true : undefined} aria-describedby="job-name-error" {...register("name")} />
              <FieldError id="job-name-error" message={errors.name?.message} />
            </div>
            <div className="field">
              <label htmlFor="job-timeout">Timeout (seconds)</label>
              <input
                id="job-timeout"
                type="number"
                aria-invalid={errors.timeoutSeconds ? true : undefined}
                aria-describedby="job-timeout-error"
                {...register("timeoutSeconds", WHOLE_NUMBER)}
              />
              <FieldError id="job-timeout-error" message={errors.timeoutSeconds?.message} />
            </div>
          </div>
        </fieldset>

        <SchedulePanel />
        <HandlerFields />
        <PolicyFields />
        <WhatIfPanel jobId={jobId} />

        <fieldset>
          <legend>Payload</legend>
          <label htmlFor="job-payload">JSON sent with every run (in the envelope&apos;s <code>payload</code>)</label>
          <textarea
            id="job-payload"
            rows={6}
            spellCheck={false}
            className="mono"
            aria-invalid={payloadProblem !== null || errors.payload ? true : undefined}
            aria-describedby="job-payload-error"
            {...register("payload")}
          />
          <FieldError id="job-payload-error" message={errors.payload?.message ?? (payloadProblem === null ? null : `Not valid JSON: ${payloadProblem}`)} />
        </fieldset>
      </form>
    </FormProvider>
  );
}
