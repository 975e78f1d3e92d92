import { describe, expect, it } from "vitest";
import { render, screen } from "@testing-library/react";

import { ExpressionMarker } from "./ExpressionMarker";

describe("ExpressionMarker", () => {
  it("marks the text the core rejected", () => {
    render(<ExpressionMarker expression="30 25 * * *" span={{ start: 3, end: 5 }} />);
    expect(screen.getByTestId("expression-marker").querySelector("mark")?.textContent).toBe("25");
  });

  it("stays inside the expression when the span is past its end", () => {
    render(<ExpressionMarker expression="* *" span={{ start: 3, end: 9 }} />);
    expect(screen.getByTestId("expression-marker").textContent).toBe("* * ");
  });
});
