/**
 * Leader and standby engines on one PostgreSQL store, through the CLI as an operator runs them: two
 * project folders (each its own data plane) share one database schema. One leads; the other's `up`
 * stands by. The leader is killed (SIGKILL): the standby leads within lease + renew, with the next term.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { CliProject } from "../helpers/cli.js";
import { freePort } from "../helpers/ports.js";
import { testConfig } from "../helpers/project.js";
import { waitFor } from "../helpers/wait.js";

const url = process.env.ENGINEROOM_TEST_POSTGRES_URL;

async function admin<T = Record<string, unknown>>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe("leader failover between two engines on one PostgreSQL", { skip: url ? false : "ENGINEROOM_TEST_POSTGRES_URL not set: HA failover e2e skipped" }, () => {
  const schema = `er_ha_e2e_${randomBytes(5).toString("hex")}`;
  let a: CliProject;
  let b: CliProject;
  let bApi: number;

  before(async () => {
    await admin(`CREATE SCHEMA ${schema}`);
    const storeUrl = `${url}${url!.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const config = testConfig("", `store:\n  url: "${storeUrl}"\nha:\n  lease: 3s\n  renew: 1s\n`);
    a = new CliProject(config);
    bApi = await freePort();
    b = new CliProject(config.replace("api:\n  listen: 127.0.0.1:0", `api:\n  listen: 127.0.0.1:${bApi}`));
  });

  after(async () => {
    await a?.cleanup().catch(() => {});
    await b?.cleanup().catch(() => {});
    await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });

  it("one leads, the other stands by; after kill -9 of the leader the standby leads with the next term", async () => {
    await a.up();
    const first = (await a.run(["status", "--json"])).out;
    const leading = JSON.parse(first).leadership;
    assert.equal(leading.role, "leader");
    assert.equal(leading.term, 1);
    assert.match(leading.leader.address, /^http:\/\/127\.0\.0\.1:\d+$/);

    const standby = b.up(); // resolves when b's engine.json appears: only once it leads
    void standby.catch(() => {});
    // b stands by: a keeps renewing (term 1, a's holder), and b writes no engine.json.
    await waitFor("a renewal by the leader", async () => {
      const [row] = await admin<{ term: string; holder: string }>(`SELECT term, holder FROM ${schema}.leader_lease`);
      return row?.term === "1" && row.holder.includes(`:${a.engine!.pid}:`);
    });
    // b answers on its API's address once it stands by (it claimed, and found the lease held).
    await waitFor("the standby answering", () => fetch(`http://127.0.0.1:${bApi}/v1/health`).then(() => true, () => false), 60_000);
    await new Promise((resolve) => setTimeout(resolve, 2_500)); // more than two renewals: b had its chances to claim
    assert.equal(existsSync(join(b.dir, ".engineroom/engine.json")), false, "the standby must not start while the leader renews");
    assert.equal((await admin<{ term: string }>(`SELECT term FROM ${schema}.leader_lease`))[0]?.term, "1");
    // The standby's API address answers every request NOT_LEADER, naming the leader's API.
    const refused = await fetch(`http://127.0.0.1:${bApi}/v1/deploy`, { method: "POST" });
    assert.equal(refused.status, 409);
    const { error } = (await refused.json()) as { error: { code: string; hint: string } };
    assert.equal(error.code, "NOT_LEADER");
    assert.ok(error.hint.includes(leading.leader.address), error.hint);

    await a.kill("SIGKILL");
    await standby;
    const after = JSON.parse((await b.run(["status", "--json"])).out).leadership;
    assert.equal(after.role, "leader");
    assert.equal(after.term, 2);

    // One engine.started per engine, each once: the log is the store's, shared.
    const started = await admin<{ id: string; data: string }>(`SELECT id, data FROM ${schema}.events WHERE type = 'engine.started' ORDER BY id`);
    assert.equal(started.length, 2);
    const pids = started.map((row) => (JSON.parse(row.data) as { pid: number }).pid);
    assert.deepEqual(pids, [a.engine!.pid, b.engine!.pid]);
    // The data plane outlives the killed leader.
    const plane = a.dataPlanePid();
    assert.ok(plane && processAliveNow(plane), "a's data plane keeps running");
  });
});

function processAliveNow(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
