import { describe, expect, it, vi } from "vitest";
import { renderHook } from "@testing-library/react";

import { confirmLeave, hasUnsavedChanges, markSaved, useUnsavedChanges } from "./unsaved";

describe("the unsaved-changes guard", () => {
  it("lets navigation go on when no form has edits", () => {
    const ask = vi.fn(() => false);
    expect(confirmLeave(ask)).toBe(true);
    expect(ask).not.toHaveBeenCalled();
  });

  it("asks while a form has edits, and forgets the form when it closes", () => {
    const { rerender, unmount } = renderHook(({ isDirty }) => { useUnsavedChanges("job editor", isDirty); }, { initialProps: { isDirty: true } });
    expect(hasUnsavedChanges()).toBe(true);
    const refuse = vi.fn(() => false);
    expect(confirmLeave(refuse)).toBe(false);
    expect(refuse).toHaveBeenCalledWith(expect.stringContaining("job editor"));
    expect(hasUnsavedChanges()).toBe(true);
    rerender({ isDirty: false });
    expect(hasUnsavedChanges()).toBe(false);
    rerender({ isDirty: true });
    expect(confirmLeave(() => true)).toBe(true);
    expect(hasUnsavedChanges()).toBe(false);
    unmount();
    expect(hasUnsavedChanges()).toBe(false);
  });

  it("does not ask right after a save", () => {
    renderHook(() => { useUnsavedChanges("new job", true); });
    markSaved("new job");
    expect(confirmLeave(() => false)).toBe(true);
  });
});
