import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { detectDrift } from "./src/runtime/local/drift.js";
const n = Number(process.argv[2] ?? 3000);
const dir = mkdtempSync(join(tmpdir(), "drift-measure-"));
const art = join(dir, "art"); mkdirSync(art);
// Many processes, several with a few open files, as a busy machine has.
const leaders: number[] = [];
for (let i = 0; i < n; i += 50) {
  // One shell group starts 50 sleeps.
  const c = spawn("/bin/sh", ["-c", `for i in $(seq 50); do sleep 600 & done; wait`], { detached: true, stdio: "ignore" });
  leaders.push(c.pid!);
}
const server = spawn(process.execPath, ["-e", `const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>console.log(s.address().port))`], { cwd: art, detached: true, stdio: ["ignore", "pipe", "inherit"] });
const other = spawn(process.execPath, ["-e", `const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>console.log(s.address().port))`], { cwd: dir, detached: true, stdio: ["ignore", "pipe", "inherit"] });
const port = await new Promise<number>((r) => server.stdout!.once("data", (d) => r(Number(String(d)))));
const otherPort = await new Promise<number>((r) => other.stdout!.once("data", (d) => r(Number(String(d)))));
await new Promise((r) => setTimeout(r, 10000));
const procs = (await import("node:fs")).readdirSync("/proc").filter((x) => /^\d+$/.test(x)).length;
const instances = [{ id: "a", pid: server.pid!, port }];
let maxLag = 0; let last = performance.now();
const lag = setInterval(() => { const now = performance.now(); maxLag = Math.max(maxLag, now - last - 1); last = now; }, 1);
for (const [label, input] of [["normal", { instances, artifactDirs: [art] }], ["port-taken (scans every process's fds)", { instances: [...instances, { id: "b", pid: server.pid!, port: otherPort }], artifactDirs: [art] }]] as const) {
  const times: number[] = [];
  for (let i = 0; i < 7; i++) { const t = performance.now(); await detectDrift(input); times.push(performance.now() - t); }
  times.sort((a, b) => a - b);
  console.log(`${procs} processes, ${label}: median ${times[3]!.toFixed(1)} ms, max ${times[6]!.toFixed(1)} ms, findings ${(await detectDrift(input)).length}`);
}
clearInterval(lag);
console.log(`longest event-loop stall ${maxLag.toFixed(1)} ms`);
for (const pid of [...leaders, server.pid!, other.pid!]) try { process.kill(-pid, "SIGKILL"); } catch {}
rmSync(dir, { recursive: true, force: true });
