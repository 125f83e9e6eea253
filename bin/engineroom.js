#!/usr/bin/env node
// Commands that only talk to a running engine run from the CLI bundled into one file
// (dist/cli/thin.js, built by scripts/build-cli.mjs): loading one module instead of 16 is most of
// the CLI's own start-up. Every other command runs the modules tsc built, and so does every command
// when the bundle is missing or older than dist/cli/main.js (a `tsc` run without the bundle step).
//
// A command may be listed here only if it loads nothing lazily: the bundle has its own copy of
// core, so an EngineError thrown by a module loaded from outside it would lose its code.
import { statSync } from "node:fs";

const thin = new Set(["deploy", "promote", "watch", "abort", "approve", "rollback", "status", "releases", "logs"]);

function commandName(args) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-c" || args[i] === "--config") i++;
    else if (!args[i].startsWith("-")) return args[i];
  }
  return undefined;
}

function bundleIsCurrent() {
  const bundle = statSync(new URL("../dist/cli/thin.js", import.meta.url), { throwIfNoEntry: false });
  const main = statSync(new URL("../dist/cli/main.js", import.meta.url), { throwIfNoEntry: false });
  return bundle !== undefined && main !== undefined && bundle.mtimeMs >= main.mtimeMs;
}

if (thin.has(commandName(process.argv.slice(2))) && bundleIsCurrent()) await import("../dist/cli/thin.js");
else await import("../dist/cli/main.js");
