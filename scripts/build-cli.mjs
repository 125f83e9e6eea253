#!/usr/bin/env node
// Bundles the CLI into one CommonJS file, dist/cli/thin.cjs, for the commands that only talk to a
// running engine (bin/engineroom.js, itself CommonJS, requires it for them). Node 20's ESM loader
// costs a few ms to start and about 1.5 ms per module it resolves, reads, compiles and links; the
// CLI's path to the API was 16 modules (its own and core's) through that loader, so one CommonJS
// file instead takes most of the CLI's own start-up away. Every import the CLI makes lazily (the
// engine for `up`, the config parser, commander, ...) stays outside the bundle and is loaded from
// dist/ as tsc built it. Run after tsc (`npm run build`).
//
// esbuild comes with tsx (a dev dependency). Without it, or when main.ts no longer ends the way this
// script expects, the build still succeeds without the bundle: bin/engineroom.js then runs
// dist/cli/main.js for every command, as before.
import { readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outfile = join(root, process.argv[2] ?? "dist/cli/thin.cjs");
const entry = join(root, "src/cli/main.ts");

function skip(why) {
  rmSync(outfile, { force: true });
  console.log(`build-cli: ${why}; the CLI runs unbundled (dist/cli/main.js)`);
  process.exit(0);
}

let esbuild;
try {
  esbuild = await import("esbuild");
} catch {
  skip("esbuild is not installed");
}
// CommonJS has no top-level await: the entry's last statement, `await main();`, becomes `void main();`
// (main() catches every error itself, so nothing changes but the module format).
const source = readFileSync(entry, "utf8");
const topLevelAwait = /^await main\(\);$/m;
if (!topLevelAwait.test(source)) skip("src/cli/main.ts no longer ends with `await main();`");

await esbuild.build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  // table.ts finds commander with createRequire(import.meta.url): the bundle's own file URL.
  define: { "import.meta.url": "__bundleUrl" },
  banner: { js: 'const __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
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
        build.onLoad({ filter: /main\.ts$/ }, (args) => (args.path === entry ? { contents: source.replace(topLevelAwait, "void main();"), loader: "ts" } : undefined));
      },
    },
  ],
});
