#!/usr/bin/env node
// CommonJS (bin/package.json), so that a command that only talks to a running engine never starts
// Node's ESM loader: those commands run from the CLI bundled into one CommonJS file
// (dist/cli/thin.cjs, built by scripts/build-cli.mjs), which makes the CLI's own start-up a few ms
// instead of tens. Every other command runs the ES modules tsc built, and so does every command
// when the bundle is missing or older than dist/cli/main.js (a `tsc` run without the bundle step).
//
// A command may be listed here only if it loads nothing lazily: the bundle has its own copy of
// core, so an EngineError thrown by a module loaded from outside it would lose its code.
"use strict";
const { statSync } = require("node:fs");
const { join } = require("node:path");

const thin = new Set(["deploy", "promote", "watch", "abort", "approve", "rollback", "status", "releases", "logs"]);
const dist = join(__dirname, "..", "dist", "cli");

function commandName(args) {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-c" || args[i] === "--config") i++;
    else if (!args[i].startsWith("-")) return args[i];
  }
  return undefined;
}

function bundleIsCurrent() {
  const bundle = statSync(join(dist, "thin.cjs"), { throwIfNoEntry: false });
  const main = statSync(join(dist, "main.js"), { throwIfNoEntry: false });
  return bundle !== undefined && main !== undefined && bundle.mtimeMs >= main.mtimeMs;
}

if (thin.has(commandName(process.argv.slice(2))) && bundleIsCurrent()) require(join(dist, "thin.cjs"));
else
  import("../dist/cli/main.js").catch((error) => {
    process.stderr.write(`${error.stack ?? error}\n`);
    process.exitCode = 1;
  });
