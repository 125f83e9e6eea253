import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { starterConfig } from "../config/index.js";
import { EngineError } from "../core/index.js";
import { green } from "./render.js";
import { starterApp } from "./starter-app.js";

/** `engineroom init [dir]`: writes a starter engineroom.yaml (and a tiny app) and says what next. */
export function init(dir: string | undefined, options: { force?: boolean }): string {
  const target = resolve(dir ?? ".");
  const file = join(target, "engineroom.yaml");
  if (existsSync(file) && !options.force) {
    throw new EngineError("CONFIG_INVALID", `${file} exists already; nothing was changed.`, { hint: "Pass --force to overwrite it." });
  }
  mkdirSync(target, { recursive: true });
  writeFileSync(file, starterConfig(projectName(basename(target))));
  const written = [file];
  if (!existsSync(join(target, "app"))) {
    mkdirSync(join(target, "app"));
    writeFileSync(join(target, "app", "server.js"), starterApp);
    written.push(join(target, "app", "server.js"));
  }
  return `${green("wrote")} ${written.join(", ")}\nnext: cd ${dir ?? "."} && engineroom up --deploy`;
}

function projectName(folder: string): string {
  const name = folder.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^[^a-z]+/, "").slice(0, 63);
  return name || "my-project";
}
