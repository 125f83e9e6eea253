import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { processAlive, waitUntilGone } from "../../src/core/index.js";
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
  /** Pauses the daemon (SIGSTOP): it keeps its sockets open and answers nothing, as a silent host does. */
  pause(): void;
  /** Lets a paused daemon go on (SIGCONT). */
  resume(): void;
  /**
   * Stops the daemon with its proxy and instances, and removes its folder: a paused one is resumed
   * first, a killed one started again (it adopts the instances it left) so that they stop too.
   */
  cleanup(): Promise<void>;
}

export async function startLocalHosts(names: string[]): Promise<LocalHost[]> {
  return Promise.all(
    names.map(async (name) => {
      const stateDir = mkdtempSync(join(tmpdir(), `engineroom-host-${name}-`));
      const paths = dataPlanePaths(stateDir);
      const up = async () => (await DataPlane.attach({ stateDir })).close();
      await up();
      const pid = () => (JSON.parse(readFileSync(paths.info, "utf8")) as { pid: number }).pid;
      let paused: number | undefined;
      const resume = () => {
        if (paused !== undefined && processAlive(paused)) process.kill(paused, "SIGCONT");
        paused = undefined;
      };
      return {
        name,
        stateDir,
        controlSocket: paths.socket,
        pid,
        restart: up,
        pause() {
          paused = pid();
          process.kill(paused, "SIGSTOP");
        },
        resume,
        async cleanup() {
          resume();
          const plane = await DataPlane.attach({ stateDir }).catch(() => undefined);
          const last = plane?.info.pid;
          await plane?.shutdown(2_000).catch(() => {});
          if (last !== undefined) await waitUntilGone(last, 10_000);
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
