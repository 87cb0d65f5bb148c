import { enableCompileCache } from "node:module";

// Imported first by server.ts, so every module required after it is compiled once and its V8 code
// cached on disk (in NODE_COMPILE_CACHE, else the OS temp folder); later starts skip that compiling.
// A folder that cannot be written (read-only root file system) only turns the cache off.
enableCompileCache();
