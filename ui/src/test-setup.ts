// Vitest runs without globals, so Testing Library cannot register its own cleanup.
import { afterEach } from "vitest";
import { cleanup, configure } from "@testing-library/react";

// findBy*/waitFor return as soon as their condition holds; the limit only decides how long a
// condition that never holds is retried. Testing Library's 1 s default failed a first render
// (module import, jsdom and the mocked IPC) on a 2-core machine busy with compilers, so the limit
// is what a loaded CI machine needs, not what a quiet laptop does.
configure({ asyncUtilTimeout: 5000 });

afterEach(() => {
  cleanup();
});
