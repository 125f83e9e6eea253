import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runtimeConfigSchema } from "../index.js";

const sshRuntime = (extra: Record<string, unknown>) => ({
  type: "ssh",
  hosts: ["a", "b", "c"].map((name) => ({ name, address: "127.0.0.1", control_socket: `/tmp/${name}.sock` })),
  ...extra,
});

describe("runtime ssh: min_hosts and request_timeout_ms", () => {
  it("takes min_hosts and request_timeout_ms, with their defaults", () => {
    const parsed = runtimeConfigSchema.parse(sshRuntime({ min_hosts: 2 }));
    assert.equal(parsed.type === "ssh" && parsed.min_hosts, 2);
    assert.equal(parsed.type === "ssh" && parsed.request_timeout_ms, 5_000);
    const plain = runtimeConfigSchema.parse(sshRuntime({ request_timeout_ms: 1_500 }));
    assert.equal(plain.type === "ssh" && plain.min_hosts, undefined);
    assert.equal(plain.type === "ssh" && plain.request_timeout_ms, 1_500);
  });

  it("refuses min_hosts above the hosts declared or below 1, with the path", () => {
    const above = runtimeConfigSchema.safeParse(sshRuntime({ min_hosts: 4 }));
    assert.equal(above.success, false);
    assert.deepEqual(above.error!.issues.map((i) => [i.path.join("."), i.message]), [["min_hosts", "min_hosts is 4 but 3 hosts are declared: at most 3"]]);
    const zero = runtimeConfigSchema.safeParse(sshRuntime({ min_hosts: 0 }));
    assert.deepEqual(zero.error?.issues.map((i) => i.path.join(".")), ["min_hosts"]);
    assert.equal(runtimeConfigSchema.safeParse(sshRuntime({ request_timeout_ms: 50 })).success, false);
  });
});
