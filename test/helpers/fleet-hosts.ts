import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DataPlane, dataPlanePaths } from "../../src/dataplane/index.js";

/** A "host" on this machine: its own data-plane daemon (proxy and agent) in its own state folder. */
export interface LocalHost {
  name: string;
  stateDir: string;
  controlSocket: string;
  /** The daemon's pid now (it changes when it is restarted). */
  pid(): number;
  /** Starts the daemon again (after a kill): it adopts the instances it left running. */
  restart(): Promise<void>;
  /** Stops the daemon with its proxy and instances, and removes its folder. */
  cleanup(): Promise<void>;
}

export async function startLocalHosts(names: string[]): Promise<LocalHost[]> {
  return Promise.all(
    names.map(async (name) => {
      const stateDir = mkdtempSync(join(tmpdir(), `engineroom-host-${name}-`));
      const paths = dataPlanePaths(stateDir);
      const up = async () => (await DataPlane.attach({ stateDir })).close();
      await up();
      return {
        name,
        stateDir,
        controlSocket: paths.socket,
        pid: () => (JSON.parse(readFileSync(paths.info, "utf8")) as { pid: number }).pid,
        restart: up,
        async cleanup() {
          const plane = await DataPlane.attach({ stateDir, start: false }).catch(() => undefined);
          await plane?.shutdown(2_000).catch(() => {});
          rmSync(stateDir, { recursive: true, force: true });
        },
      };
    }),
  );
}

/** The `runtime:` section of a project whose hosts are these. */
export function fleetRuntimeYaml(hosts: LocalHost[], extra = ""): string {
  const lines = ["runtime:", "  type: ssh", "  proxy_listen: 127.0.0.1:0", "  reconnect_ms: 2000", extra, "  hosts:"];
  for (const host of hosts) lines.push(`    - name: ${host.name}`, `      address: 127.0.0.1`, `      labels: { zone: ${host.name} }`, `      control_socket: ${host.controlSocket}`);
  return lines.filter((l) => l !== "").join("\n");
}
