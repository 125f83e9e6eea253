import { readdirSync, readFileSync, readlinkSync, openSync, readSync, closeSync } from "node:fs";
const pids = readdirSync("/proc").filter((x) => /^\d+$/.test(x));
const buf = Buffer.alloc(1024);
for (let r = 0; r < 3; r++) {
let t = performance.now(); for (const p of pids) try { readFileSync(`/proc/${p}/stat`, "latin1"); } catch {} const a = performance.now() - t;
t = performance.now(); for (const p of pids) try { const fd = openSync(`/proc/${p}/stat`, "r"); const n = readSync(fd, buf, 0, 1024, 0); closeSync(fd); buf.latin1Slice(0, n); } catch {} const b = performance.now() - t;
t = performance.now(); for (const p of pids) try { readlinkSync(`/proc/${p}/cwd`); } catch {} const c = performance.now() - t;
t = performance.now(); readdirSync("/proc"); const d = performance.now() - t;
console.log({ n: pids.length, readFileSync: a, openRead: b, readlink: c, readdirProc: d });
}
