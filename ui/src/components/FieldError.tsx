/** The message under an input, announced to assistive technology. */
export function FieldError({ id, message }: { id: string; message: string | undefined | null }) {
  if (message === undefined || message === null || message === "") return null;
  return (
    <p className="field-error" id={id} role="alert">
      {message}
    </p>
  );
}
