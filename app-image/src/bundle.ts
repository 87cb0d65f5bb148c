// How the server becomes one file: `npm run build` bundles src/server.ts into dist/server.js with
// these options, and `npm run bench` bundles its floor server (bench/floor-server.ts) with the same
// ones, so the two compare code built alike. Whitespace minification saves ~30 ms of start-up; no
// keepNames, because its __name helper ran on every closure (~4 µs per POST in `npm run profile`);
// the source map lets the profiler count a bundle's frames for their module again.
import { build, type BuildOptions } from "esbuild";
import { join } from "node:path";

export const BUNDLE_OPTIONS: BuildOptions = {
  bundle: true,
  platform: "node",
  target: "node26",
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: true,
  legalComments: "none",
  // pg's optional native binding, never installed: pg falls back to its JavaScript client.
  external: ["pg-native"],
  logLevel: "warning",
  allowOverwrite: true,
};

export async function bundle(entryPoint: string, outfile: string): Promise<void> {
  await build({ ...BUNDLE_OPTIONS, entryPoints: [entryPoint], outfile });
}

if (require.main === module) {
  const root = join(__dirname, "..");
  bundle(join(root, "src", "server.ts"), join(root, "dist", "server.js")).catch((error: unknown) => {
    process.stderr.write(`bundling failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
