#!/usr/bin/env node
// Bundles the CLI into one file, dist/cli/thin.js, for the commands that only talk to a running
// engine (bin/engineroom.js picks it for them). Node 20's ESM loader spends about 1.5 ms on each
// module it resolves, reads, compiles and links; the CLI's path to the API was 16 modules (its own and
// core's), so loading one file instead takes a good part of the CLI's own start-up away. Every
// import the CLI makes lazily (the engine for `up`, the config parser, commander, ...) stays outside
// the bundle and is loaded from dist/ as tsc built it. Run after tsc (`npm run build`).
//
// esbuild comes with tsx (a dev dependency). Without it the build still succeeds: bin/engineroom.js
// then runs dist/cli/main.js for every command, as before.
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = join(root, process.argv[2] ?? "dist/cli/thin.js");

let esbuild;
try {
  esbuild = await import("esbuild");
} catch {
  rmSync(outfile, { force: true });
  console.log("build-cli: esbuild is not installed; the CLI runs unbundled (dist/cli/main.js)");
  process.exit(0);
}

await esbuild.build({
  entryPoints: [join(root, "src/cli/main.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // Packages (commander) load from node_modules as usual.
  packages: "external",
  sourcemap: true,
  logLevel: "warning",
  plugins: [
    {
      name: "lazy-imports-stay-outside",
      setup(build) {
        // `await import("./up.js")` and the like: the path is relative to src/cli/, and so to dist/cli/.
        build.onResolve({ filter: /.*/ }, (args) => (args.kind === "dynamic-import" ? { path: args.path, external: true } : undefined));
      },
    },
  ],
});
