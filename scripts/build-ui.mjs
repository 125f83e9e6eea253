#!/usr/bin/env node
// Copies the dashboard's static files (src/ui/assets: HTML, ES modules, CSS) beside the compiled
// dist/ui/, where src/ui/routes.ts reads them (tsc copies only what it compiles). Run after tsc
// (`npm run build`).
import { cpSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const to = join(root, "dist/ui/assets");
rmSync(to, { recursive: true, force: true });
cpSync(join(root, "src/ui/assets"), to, { recursive: true });
console.log("build-ui: dashboard assets copied to dist/ui/assets");
