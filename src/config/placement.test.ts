import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EngineError } from "../core/index.js";
import { parseProject } from "./index.js";

const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const host = (name: string, address: string, role: string) => `      ${name}:\n        address: ${address}\n        key: { secret: deploy_key }\n        host_key: ${key}\n        labels: { role: ${role} }\n`;

/** web with `placement`, a local staging and a production on three hosts (two web, one db). */
function project(placement: string, production = ""): string {
  return [
    "project: demo",
    "services:",
    "  web:",
    "    run: node server.js",
    "    instances: 2",
    `    placement: ${placement}`,
    "environments:",
    "  staging: { proxy: { listen: 127.0.0.1:8081 } }",
    "  production:",
    "    runtime: ssh",
    "    hosts:",
    host("web-1", "10.0.0.5", "web") + host("web-2", "10.0.0.6", "web") + host("db-1", "10.0.0.7", "db") + production,
  ].join("\n");
}

/** The config is refused as CONFIG_INVALID with a message matching `pattern`. */
function refused(text: string, pattern: RegExp): void {
  assert.throws(() => parseProject(text), (error) => error instanceof EngineError && error.code === "CONFIG_INVALID" && pattern.test(error.message));
}

describe("config: services.<name>.placement", () => {
  it("per_host makes instances N × the hosts the labels allow, on ssh environments only", () => {
    const config = parseProject(project("{ labels: { role: web }, per_host: 3 }"));
    const [staging, production] = config.environments;
    assert.equal(production!.services.web!.instances, 6, "3 on each of the two web hosts");
    assert.equal(staging!.services.web!.instances, 2, "not read on a local environment");
    assert.deepEqual(production!.services.web!.placement, { labels: { role: "web" }, per_host: 3 });
    assert.equal(config.services.web!.instances, 2, "the service's own definition is left as written");
  });

  it("host_proxy_listen defaults to 0.0.0.0:8080 and can be set per environment", () => {
    assert.equal(parseProject(project("{ per_host: 1 }")).environments[1]!.host_proxy_listen, "0.0.0.0:8080");
    const config = parseProject(project("{ per_host: 1 }").replace("    runtime: ssh\n", "    runtime: ssh\n    host_proxy_listen: 0.0.0.0:8081\n"));
    assert.equal(config.environments[1]!.host_proxy_listen, "0.0.0.0:8081");
    assert.equal(config.environments[1]!.services.web!.instances, 3, "per_host 1 on every host");
  });

  it("labels that no host of the environment has are CONFIG_INVALID with the path", () => {
    refused(project("{ labels: { role: cache } }"), /services\.web\.placement\.labels: no host of this environment has the labels \{"role":"cache"\}/);
    const overridden = project("{ labels: { role: web } }", "    services:\n      web:\n        placement: { labels: { role: queue } }\n");
    refused(overridden, /environments\.production\.services\.web\.placement\.labels: no host/);
  });

  it("two ssh environments on one host need two host_proxy_listen ports", () => {
    const staging = "  staging:\n    proxy: { listen: 127.0.0.1:8081 }\n    runtime: ssh\n    hosts:\n" + host("web-1", "10.0.0.5", "web");
    const text = project("{ per_host: 1 }").replace("  staging: { proxy: { listen: 127.0.0.1:8081 } }", staging);
    refused(text, /environments\.production\.host_proxy_listen: environments staging and production both listen on port 8080 of host web-1 \(10\.0\.0\.5\)/);
    const apart = text.replace("    runtime: ssh\n    hosts:\n      web-1", "    runtime: ssh\n    host_proxy_listen: 0.0.0.0:8081\n    hosts:\n      web-1");
    assert.equal(parseProject(apart).environments[0]!.host_proxy_listen, "0.0.0.0:8081");
  });

  it("an unknown placement key is refused", () => {
    refused(project("{ per_hots: 2 }"), /placement/);
  });
});
