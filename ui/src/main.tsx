import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";

import { App } from "./App";
import "./styles.css";

async function start(): Promise<void> {
  // The headless-browser tests build with `--mode mock`: an in-page fake answers the IPC. The
  // condition is a build-time constant, so the fake is not in the real app's bundle.
  if (import.meta.env.MODE === "mock") {
    const { installMockBackend } = await import("./mock/backend");
    installMockBackend();
  }
  const queryClient = new QueryClient({
    defaultOptions: {
      queries: { retry: false, refetchOnWindowFocus: false, staleTime: 1_000 },
    },
  });
  const root = document.getElementById("root");
  if (root === null) throw new Error("index.html has no #root");
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <App />
      </QueryClientProvider>
    </StrictMode>,
  );
}

void start();
