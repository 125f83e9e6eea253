/**
 * Time from an outage's start to the first notification, with the default thresholds and group
 * wait, against the arithmetic minimum. Each round starts a fresh engine (in this process) on a temp
 * project whose app answers 503 once a file exists, with one check of its front page every 10 s
 * (failure_threshold 3, recovery_threshold 2: the defaults) and the default route (group_wait 30 s),
 * and a webhook channel to a receiver in this process. The outage starts at a random moment; the
 * round ends when the firing notification arrives.
 *
 * Arithmetic: the first failing probe comes 0–10 s after the outage starts (the check's phase), the
 * third one 20 s later (the check is down), then the group waits 30 s: 50 s at best, 60 s at worst,
 * 55 s on average — plus the probes' and the delivery's own time.
 *
 *   node --import tsx bench/outage-notify.ts [--rounds 3]
 *
 * Loopback only; every round is bounded (120 s) and cleans up its engine, data plane and instances.
 */
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startProject, testConfig } from "../test/helpers/project.js";
import { waitFor } from "../test/helpers/wait.js";
import { fmt, median } from "./stats.js";
import { freePort } from "../test/helpers/ports.js";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "3" } } });
const rounds = Number(values.rounds);

let notified: ((at: number) => void) | undefined;
const receiver = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
    if (body.status === "firing" && body.alerts?.some((a: { labels: Record<string, string> }) => a.labels.alertname === "check-down")) notified?.(performance.now());
    res.writeHead(200).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const hookPort = (receiver.address() as AddressInfo).port;


const results: number[] = [];
for (let round = 1; round <= rounds; round++) {
  const proxyPort = await freePort();
  const top = `checks:
  front:
    type: http
    url: http://127.0.0.1:${proxyPort}/
    interval: 10s
channels:
  hook:
    type: webhook
    url: http://127.0.0.1:${hookPort}/
alerts:
  default_rules: false
`;
  const p = await startProject(testConfig("", top).replace("listen: 127.0.0.1:0\napi:", `listen: 127.0.0.1:${proxyPort}\napi:`));
  try {
    const outage = join(p.dir, "outage");
    await p.api.stream("/v1/services/web/deploys", { artifact: p.artifact({ version: "v1", failFile: outage }) }, () => {});
    const state = async () => (await p.api.get<{ checks: { name: string; state: string }[] }>("/v1/checks")).checks.find((c) => c.name === "front")?.state;
    await waitFor("the check up", async () => (await state()) === "up", 60_000);
    await new Promise((r) => setTimeout(r, Math.random() * 10_000)); // a random moment of the check's period
    const arrived = new Promise<number>((resolve) => (notified = resolve));
    const start = performance.now();
    writeFileSync(outage, "");
    const at = await Promise.race([arrived, new Promise<number>((_, reject) => setTimeout(() => reject(new Error("no notification within 120 s")), 120_000))]);
    results.push(at - start);
    process.stderr.write(`round ${round}: first notification ${fmt(at - start)} after the outage began\n`);
  } finally {
    notified = undefined;
    await p.cleanup();
  }
}
receiver.close();

console.log("\noutage → first notification (defaults: check every 10 s, failure_threshold 3, group_wait 30 s)");
console.log(`  rounds:            ${rounds}`);
console.log(`  median:            ${fmt(median(results))}`);
console.log(`  min / max:         ${fmt(Math.min(...results))} / ${fmt(Math.max(...results))}`);
console.log("  arithmetic:        50 s at best, 55 s on average, 60 s at worst (0–10 s to the first failing probe + 2 × 10 s + 30 s group_wait)");
