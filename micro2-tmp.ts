import { spawn } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync, openSync, readSync, closeSync } from "node:fs";
const leaders: number[] = [];
for (let i = 0; i < 3000; i += 50) leaders.push(spawn("/bin/sh", ["-c", `for i in $(seq 50); do sleep 600 & done; wait`], { detached: true, stdio: "ignore" }).pid!);
await new Promise((r) => setTimeout(r, 10000));
const pids = readdirSync("/proc").filter((x) => /^\d+$/.test(x));
const buf = Buffer.alloc(4096);
for (let r = 0; r < 5; r++) {
let t = performance.now(); for (const p of pids) try { readFileSync(`/proc/${p}/stat`, "latin1"); } catch {} const a = performance.now() - t;
t = performance.now(); for (const p of pids) try { const fd = openSync(`/proc/${p}/stat`, "r"); const n = readSync(fd, buf, 0, 4096, 0); closeSync(fd); buf.toString("latin1", 0, n); } catch {} const b = performance.now() - t;
t = performance.now(); for (const p of pids) try { readlinkSync(`/proc/${p}/cwd`); } catch {} const c = performance.now() - t;
t = performance.now(); for (const p of pids) try { readdirSync(`/proc/${p}/fd`); } catch {} const e = performance.now() - t;
t = performance.now(); readdirSync("/proc"); const d = performance.now() - t;
console.log({ n: pids.length, readFileSync: a.toFixed(0), openRead: b.toFixed(0), readlinkCwd: c.toFixed(0), readdirFd: e.toFixed(0), readdirProc: d.toFixed(0) });
}
for (const pid of leaders) try { process.kill(-pid, "SIGKILL"); } catch {}
