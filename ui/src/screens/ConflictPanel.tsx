import type { JobDetail, JobInput } from "../bindings";

interface Line {
  label: string;
  mine: string;
  theirs: string;
}

function handlerText(input: JobInput): string {
  return JSON.stringify(input.handler, null, 1);
}

/** The field-by-field comparison of the user's edit with the stored version. */
export function compareVersions(mine: JobInput, theirs: JobInput): Line[] {
  return [
    { label: "Name", mine: mine.name, theirs: theirs.name },
    { label: "Schedule", mine: mine.schedule, theirs: theirs.schedule },
    { label: "Time zone", mine: mine.timezone, theirs: theirs.timezone },
    { label: "Handler", mine: handlerText(mine), theirs: handlerText(theirs) },
    { label: "Payload", mine: mine.payload, theirs: theirs.payload },
    { label: "Timeout (s)", mine: String(mine.timeoutSeconds), theirs: String(theirs.timeoutSeconds) },
    { label: "Policies", mine: JSON.stringify(mine.policy, null, 1), theirs: JSON.stringify(theirs.policy, null, 1) },
  ];
}

/** A refused save: someone else saved a newer version. Nothing was overwritten; the user
 * picks which version wins. */
export function ConflictPanel({
  mine,
  theirs,
  onTakeTheirs,
  onKeepMine,
}: {
  mine: JobInput;
  theirs: JobDetail;
  onTakeTheirs: () => void;
  onKeepMine: () => void;
}) {
  const lines = compareVersions(mine, theirs.definition);
  return (
    <div className="conflict" role="alert" data-testid="conflict">
      <h2>Someone else changed this job</h2>
      <p>
        Your save was refused: the job is now at version {theirs.version} (changed{" "}
        {theirs.updatedAt}). Nothing was overwritten. Compare and choose:
      </p>
      <table className="grid compact">
        <thead>
          <tr>
            <th />
            <th>Your edit</th>
            <th>Their version {theirs.version}</th>
          </tr>
        </thead>
        <tbody>
          {lines.map((line) => (
            <tr key={line.label} className={line.mine === line.theirs ? undefined : "differs"}>
              <th scope="row">{line.label}</th>
              <td><pre>{line.mine}</pre></td>
              <td><pre>{line.theirs}</pre></td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="buttons">
        <button type="button" onClick={onTakeTheirs}>Discard my edit, load theirs</button>
        <button type="button" className="danger" onClick={onKeepMine}>Save mine over theirs</button>
      </div>
    </div>
  );
}
