import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdir, readFile, writeFile, rename } from "node:fs/promises";
import { join } from "node:path";
import type { ServiceConfig } from "../config/index.js";
import type { ConfigSnapshots } from "../deploy/index.js";

/** What a running engine tells the CLI about itself, in `<state>/engine.json`. */
export interface EngineInfo {
  pid: number;
  api: string;
  /** The first environment's proxy. */
  proxy: string;
  /** Every environment's proxy, by environment. */
  proxies: Record<string, string>;
  startedAt: string;
  project: string;
  /** Set when the API serves HTTPS: the certificate file (PEM) clients on this machine trust it by. */
  tls?: { cert: string };
}

/** The engine's files of the state folder that are not the store: engine.json and api-token. */
export class StateFiles {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = dir;
  }

  ensure(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /** The API token, created on first use with mode 0600. */
  token(): string {
    const file = join(this.dir, "api-token");
    if (existsSync(file)) return readFileSync(file, "utf8").trim();
    const token = randomBytes(32).toString("base64url");
    writeFileSync(file, token + "\n", { mode: 0o600 });
    return token;
  }

  readToken(): string | undefined {
    const file = join(this.dir, "api-token");
    return existsSync(file) ? readFileSync(file, "utf8").trim() : undefined;
  }

  writeEngineInfo(info: EngineInfo): void {
    writeFileSync(join(this.dir, "engine.json"), JSON.stringify(info, null, 2) + "\n");
  }

  readEngineInfo(): EngineInfo | undefined {
    try {
      return JSON.parse(readFileSync(join(this.dir, "engine.json"), "utf8")) as EngineInfo;
    } catch {
      return undefined;
    }
  }

  removeEngineInfo(): void {
    rmSync(join(this.dir, "engine.json"), { force: true });
  }
}

/** Config snapshots as JSON files under `<state>/configs/`, named by their hash. */
export class FileConfigSnapshots implements ConfigSnapshots {
  #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
  }

  async save(hash: string, service: ServiceConfig): Promise<void> {
    const file = join(this.#dir, `${hash.replace(/^sha256:/, "")}.json`);
    if (existsSync(file)) return;
    await mkdir(this.#dir, { recursive: true });
    const temporary = `${file}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(service));
    await rename(temporary, file);
  }

  async load(hash: string): Promise<ServiceConfig | undefined> {
    try {
      return JSON.parse(await readFile(join(this.#dir, `${hash.replace(/^sha256:/, "")}.json`), "utf8")) as ServiceConfig;
    } catch {
      return undefined;
    }
  }
}

/** True if a process with this pid exists; kept here for the engine's users. */
export { processAlive } from "../core/index.js";
