// The unsaved-changes guard: forms with edits register here, and every navigation in the shell
// asks `confirmLeave` first, so leaving an unfinished form never loses it without a word.
import { useEffect } from "react";

const dirty = new Set<string>();

/** Marks form `key` as holding unsaved edits while `isDirty`; cleared when it unmounts. */
export function useUnsavedChanges(key: string, isDirty: boolean): void {
  useEffect(() => {
    if (!isDirty) return;
    dirty.add(key);
    const warn = (event: BeforeUnloadEvent) => { event.preventDefault(); };
    window.addEventListener("beforeunload", warn);
    return () => {
      dirty.delete(key);
      window.removeEventListener("beforeunload", warn);
    };
  }, [key, isDirty]);
}

/** Form `key` was saved: navigation that follows the save at once (before the form's next
 * render) must not ask. */
export function markSaved(key: string): void {
  dirty.delete(key);
}

/** Whether any form holds unsaved edits. */
export function hasUnsavedChanges(): boolean {
  return dirty.size > 0;
}

/** True when navigation may go on: nothing unsaved, or the user agreed to drop the edits. */
export function confirmLeave(ask: (message: string) => boolean = (message) => window.confirm(message)): boolean {
  if (dirty.size === 0) return true;
  const forms = [...dirty].join(", ");
  const agreed = ask(`You have unsaved changes (${forms}). Leave and discard them?`);
  if (agreed) dirty.clear();
  return agreed;
}
