/**
 * From an environment's declared hosts to what ssh needs: the pinned known_hosts file (written by the
 * engine from host_key and known_hosts) and each host's private key, fetched from its secret and
 * written owner-only into the engine's state folder. Neither the key nor its path's content is ever
 * logged.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { EnvironmentHosts, HostConfig } from "../config/index.js";
import { EngineError } from "../core/index.js";
import type { SshTarget } from "./ssh.js";

/** A declared host made reachable: the ssh target and what the config says of it. */
export interface PreparedHost {
  environment: string;
  name: string;
  labels: Record<string, string>;
  /** The data plane's state folder on the host. */
  stateDir: string;
  target: SshTarget;
}

export interface PrepareOptions {
  /** The engine's folder for this environment's hosts (e.g. `<state_dir>/hosts/<env>`). */
  dir: string;
  /** The folder of engineroom.yaml (a known_hosts file is relative to it). */
  projectDir: string;
  /** The private key a host's `key` reference names; rejects with a SECRET_* code when it cannot be read. */
  readKey: (ref: HostConfig["key"]) => Promise<string | undefined>;
}

/** Writes the environment's known_hosts and key files and answers one target per host. */
export async function prepareHosts(environment: string, env: EnvironmentHosts, options: PrepareOptions): Promise<PreparedHost[]> {
  mkdirSync(join(options.dir, "keys"), { recursive: true, mode: 0o700 });
  chmodSync(options.dir, 0o700);
  const knownHostsFile = join(options.dir, "known_hosts");
  writeKnownHosts(knownHostsFile, pinnedLines(env, options.projectDir), env.trust_on_first_use);
  const prepared: PreparedHost[] = [];
  for (const [name, host] of Object.entries(env.hosts)) {
    const key = await options.readKey(host.key);
    if (key === undefined || key.trim() === "") {
      throw new EngineError("HOST_NOT_READY", `The key of host ${name} (secret ${host.key.secret}) is not set.`, {
        hint: `Store the host's private key: \`engineroom secrets set ${host.key.secret} < key-file\`.`,
        details: { environment, host: name },
      });
    }
    const keyFile = join(options.dir, "keys", name);
    const text = key.endsWith("\n") ? key : `${key}\n`;
    if (!existsSync(keyFile) || readFileSync(keyFile, "utf8") !== text) writeFileSync(keyFile, text, { mode: 0o600 });
    chmodSync(keyFile, 0o600);
    prepared.push({
      environment,
      name,
      labels: { ...host.labels },
      stateDir: host.state_dir,
      target: { name, address: host.address, port: host.port, user: host.user, keyFile, knownHostsFile, trustOnFirstUse: env.trust_on_first_use },
    });
  }
  return prepared;
}

/** The known_hosts lines the config pins: each host's host_key, the listed lines, the named file's. */
export function pinnedLines(env: EnvironmentHosts, projectDir: string): string[] {
  const lines: string[] = [];
  for (const host of Object.values(env.hosts)) {
    if (host.host_key) lines.push(`${knownHostsName(host.address, host.port)} ${host.host_key.split(/\s+/).slice(0, 2).join(" ")}`);
  }
  if (Array.isArray(env.known_hosts)) lines.push(...env.known_hosts);
  else if (typeof env.known_hosts === "string") {
    const file = resolve(projectDir, env.known_hosts);
    try {
      lines.push(...readFileSync(file, "utf8").split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#")));
    } catch (error) {
      throw new EngineError("CONFIG_INVALID", `known_hosts names ${file}, which cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}.`, {
        hint: "Point known_hosts at a known_hosts file (relative to engineroom.yaml), or list its lines.",
      });
    }
  }
  return lines.map((l) => l.trim());
}

/** How known_hosts names a host: the address, or `[address]:port` off port 22. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/**
 * The file ssh checks host keys against: exactly the pinned lines, plus, with trust on first use,
 * the keys ssh accepted before (so that a changed key is refused next time).
 */
function writeKnownHosts(file: string, lines: string[], trustOnFirstUse: boolean): void {
  const kept = new Set(lines);
  if (trustOnFirstUse && existsSync(file)) for (const line of readFileSync(file, "utf8").split("\n")) if (line.trim()) kept.add(line.trim());
  writeFileSync(file, [...kept].map((l) => `${l}\n`).join(""), { mode: 0o600 });
  chmodSync(file, 0o600);
}
