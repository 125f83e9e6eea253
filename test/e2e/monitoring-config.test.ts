import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { CliProject } from "../helpers/cli.js";
import { testConfig } from "../helpers/project.js";

/** The pids of the data-plane processes serving `stateDir` (the client starts them with ENGINEROOM_DATAPLANE_STATE set to it). */
function dataPlanesOf(stateDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      if (environ.includes(`ENGINEROOM_DATAPLANE_STATE=${stateDir}`)) pids.push(Number(entry));
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

/**
 * Every monitoring section of engineroom.yaml is checked before `engineroom up` creates or starts
 * anything: a fresh project with mistakes in several sections fails with one CONFIG_INVALID naming
 * every one of them, and leaves no data plane and no state folder behind.
 */
describe("monitoring config, checked before anything starts", () => {
  const top = `checks:
  api-up:
    type: tcp
    host: 127.0.0.1
    port: 1
    intervall: 10s
  web-page:
    type: http
    url: http://127.0.0.1:1/
    service: wbe
    environment: prod
slos:
  web-availability:
    service: web
    kind: availability
    target: 120
channels:
  ops:
    type: webhok
    url: http://127.0.0.1:1/hook
alerts:
  route:
    receiver: pager
  rules:
    - name: slow
      metric: p95
      op: ">"
      threshold: 300ms
      services: [api]
monitor:
  max_concurrency: 0
incidents:
  channel: nowhere
`;
  const p = new CliProject(testConfig("    artifact: ./app\n", top));
  after(async () => {
    assert.deepEqual(await p.cleanup(), []);
  });

  it("fails with one CONFIG_INVALID naming every section's problems, and starts nothing", async () => {
    const stateDir = join(p.dir, ".engineroom");
    assert.equal(existsSync(stateDir), false, "a fresh project");
    const { code, out } = await p.run(["up"]);
    assert.notEqual(code, 0, out);
    assert.doesNotMatch(out, /started the data plane/);
    assert.equal(out.match(/error CONFIG_INVALID/g)?.length, 1, out);
    // One problem a line, as `  - <path>: <message>`.
    const problems = out.split("\n").flatMap((line) => (line.startsWith("  - ") ? [line.slice(4)] : []));
    const at = (path: string) => problems.find((problem) => problem.startsWith(`${path}:`));
    assert.ok(at("checks.api-up.intervall"), problems.join("\n"));
    assert.match(at("checks.web-page.service") ?? "", /no service named "wbe" \(did you mean "web"\?\)/);
    assert.match(at("checks.web-page.environment") ?? "", /no environment named "prod"/);
    assert.ok(at("slos.web-availability.target"), problems.join("\n"));
    assert.ok(problems.some((problem) => problem.startsWith("channels.ops")), problems.join("\n"));
    assert.ok(at("alerts.route.receiver"), problems.join("\n"));
    assert.ok(at("alerts.rules.0.services.0"), problems.join("\n"));
    assert.ok(at("monitor.max_concurrency"), problems.join("\n"));
    assert.ok(problems.some((problem) => problem.startsWith("incidents.")), problems.join("\n"));
    assert.deepEqual(dataPlanesOf(stateDir), [], "no data plane started");
    assert.equal(existsSync(stateDir), false, "nothing created in the state folder");
  });
});
