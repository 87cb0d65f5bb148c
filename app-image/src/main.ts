// The process entry, the image's CMD. Node's compile cache keeps the V8 code of what it compiles on
// disk (in NODE_COMPILE_CACHE, else the OS temp folder), so a later start of the same container
// skips compiling; a folder that cannot be written only turns the cache off. It has to be on before
// the server's code is compiled, and that code is one file, dist/server.js (bundled by esbuild in
// `npm run build`: one file instead of ~1,000 modules to resolve and read), so it is loaded after.
import { enableCompileCache } from "node:module";

enableCompileCache();
// eslint-disable-next-line @typescript-eslint/no-require-imports -- must load after the line above
require("./server.js");
