import type { Span } from "../bindings";

/** The expression with the span the core rejected marked, so people see which field is wrong. */
export function ExpressionMarker({ expression, span }: { expression: string; span: Span }) {
  const start = Math.min(span.start, expression.length);
  const end = Math.max(start, Math.min(span.end, expression.length));
  return (
    <code className="expression-marker" data-testid="expression-marker" aria-hidden="true">
      {expression.slice(0, start)}
      <mark>{start === end ? " " : expression.slice(start, end)}</mark>
      {expression.slice(end)}
    </code>
  );
}
