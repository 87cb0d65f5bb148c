// Mocha glue for the shared environment; the rest of tests/support stays framework-free.
import { stopLeftoverChildren } from "../../local/processes";
import { SharedEnvironment, sharedEnvironment, stopSharedEnvironment } from "./shared-env";

let rootHookRegistered = false;

/**
 * Call at the top level of a test file (so the hook lands on mocha's root suite): the shared
 * environment then stops once, after every file ran, however many files use it.
 */
export function useSharedEnvironment(): () => Promise<SharedEnvironment> {
  if (!rootHookRegistered) {
    rootHookRegistered = true;
    after("stop the shared PostgreSQL pair, Redis and leftover processes", async () => {
      await stopSharedEnvironment();
      await stopLeftoverChildren();
    });
  }
  return sharedEnvironment;
}
