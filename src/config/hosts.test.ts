import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EngineError } from "../core/index.js";
import { parseProject } from "./index.js";

const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

function project(env: string): string {
  return `project: demo\nservices:\n  web:\n    run: node server.js\n    artifact: ./app\nenvironments:\n  production:\n${env}`;
}

function problems(text: string): string {
  try {
    parseProject(text);
  } catch (error) {
    assert.ok(error instanceof EngineError);
    assert.equal(error.code, "CONFIG_INVALID");
    return error.message;
  }
  assert.fail("expected the config to be refused");
}

describe("config: ssh hosts", () => {
  it("parses an environment on ssh hosts with defaults filled in", () => {
    const config = parseProject(
      project(`    runtime: ssh\n    hosts:\n      web-1:\n        address: 10.0.0.5\n        key: { secret: deploy_key }\n        host_key: ${key}\n        labels: { zone: a }\n      web-2:\n        address: 10.0.0.6\n        user: deploy\n        port: 2222\n        key: { secret: deploy_key }\n    known_hosts:\n      - "[10.0.0.6]:2222 ${key}"\n`),
    );
    const env = config.environments[0]!;
    assert.equal(env.runtime, "ssh");
    assert.deepEqual(env.hosts!["web-1"], { address: "10.0.0.5", port: 22, user: "root", key: { secret: "deploy_key" }, host_key: key, labels: { zone: "a" }, state_dir: "/var/lib/engineroom" });
    assert.equal(env.hosts!["web-2"]!.port, 2222);
    assert.equal(env.trust_on_first_use, false);
  });

  it("refuses an unpinned host key unless trust on first use is asked for", () => {
    const hosts = `    hosts:\n      web-1:\n        address: 10.0.0.5\n        key: { secret: deploy_key }\n`;
    assert.match(problems(project(`    runtime: ssh\n${hosts}`)), /hosts\.web-1\.host_key.*not pinned/);
    assert.equal(parseProject(project(`    runtime: ssh\n    trust_on_first_use: true\n${hosts}`)).environments[0]!.trust_on_first_use, true);
  });

  it("names bad keys, hosts without ssh and ssh without hosts", () => {
    assert.match(problems(project(`    runtime: ssh\n`)), /runtime: ssh needs at least one host/);
    assert.match(problems(project(`    hosts:\n      a:\n        address: h\n        key: { secret: k }\n        host_key: ${key}\n`)), /set runtime: ssh/);
    assert.match(problems(project(`    runtime: ssh\n    hosts:\n      a:\n        address: h\n        key: /root/.ssh/id\n        host_key: ${key}\n`)), /hosts\.a\.key/);
    assert.match(problems(project(`    runtime: ssh\n    hosts:\n      a:\n        adress: h\n        key: { secret: k }\n`)), /adress: unknown key; did you mean "address"/);
    assert.match(problems(project(`    runtime: ssh\n    hosts:\n      a:\n        address: h\n        key: { secret: k }\n        host_key: not-a-key\n`)), /host_key/);
  });

  it("takes min_hosts from 1 up to the environment's hosts (absent: every host), else CONFIG_INVALID with its path", () => {
    const hosts = ["web-1", "web-2"].map((name, i) => `      ${name}:\n        address: 10.0.0.${i + 5}\n        key: { secret: deploy_key }\n        host_key: ${key}\n`).join("");
    const withMin = (line: string) => project(`    runtime: ssh\n${line}    hosts:\n${hosts}`);
    assert.equal(parseProject(withMin("    min_hosts: 2\n")).environments[0]!.min_hosts, 2);
    assert.equal(parseProject(withMin("")).environments[0]!.min_hosts, undefined);
    assert.match(problems(withMin("    min_hosts: 3\n")), /environments\.production\.min_hosts.*min_hosts is 3 but the environment declares 2 hosts/);
    assert.match(problems(withMin("    min_hosts: 0\n")), /environments\.production\.min_hosts/);
  });

  it("takes request_timeout_ms and reconnect_ms for the environment's own fleet (100 ms to 10 minutes; absent: the defaults)", () => {
    const hosts = `      web-1:\n        address: 10.0.0.5\n        key: { secret: deploy_key }\n        host_key: ${key}\n`;
    const withLines = (lines: string) => project(`    runtime: ssh\n${lines}    hosts:\n${hosts}`);
    const env = parseProject(withLines("    request_timeout_ms: 2000\n    reconnect_ms: 8000\n")).environments[0]!;
    assert.equal(env.request_timeout_ms, 2000);
    assert.equal(env.reconnect_ms, 8000);
    assert.equal(parseProject(withLines("")).environments[0]!.request_timeout_ms, undefined);
    assert.match(problems(withLines("    request_timeout_ms: 50\n")), /environments\.production\.request_timeout_ms/);
    assert.match(problems(withLines("    reconnect_ms: 700000\n")), /environments\.production\.reconnect_ms/);
  });
});
