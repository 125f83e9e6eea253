/**
 * Leader and standby engines on one PostgreSQL store, through the CLI as an operator runs them:
 * three project folders (each its own data plane) share one database schema. One leads; the others'
 * `up` stand by. The leader is killed (SIGKILL): a standby leads with the next term, just after the
 * lease ends, and the other standby's API names the new leader from then on.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import { CliProject, cliArgs } from "../helpers/cli.js";
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

/** `engineroom up` of a project that will stand by, without waiting for it to lead; the project's cleanup ends it. */
function upStandby(project: CliProject): ChildProcess {
  const child = spawn(process.execPath, [...cliArgs(), "up"], { cwd: project.dir, stdio: "ignore" });
  project.engine = child;
  return child;
}

/** What a standby's API address answers: 409 NOT_LEADER, with the leader it names. */
async function standbyAnswer(port: number): Promise<{ status: number; code: string; hint: string; leader: { holder: string; address: string | null; term: number } | null }> {
  const response = await fetch(`http://127.0.0.1:${port}/v1/deploy`, { method: "POST" });
  const { error } = (await response.json()) as { error: { code: string; hint: string; details: { leader: { holder: string; address: string | null; term: number } | null } } };
  return { status: response.status, code: error.code, hint: error.hint, leader: error.details.leader };
}

describe("leader failover between engines on one PostgreSQL", { skip: url ? false : "ENGINEROOM_TEST_POSTGRES_URL not set: HA failover e2e skipped" }, () => {
  const schema = `er_ha_e2e_${randomBytes(5).toString("hex")}`;
  let a: CliProject;
  let b: CliProject;
  let c: CliProject;
  const ports = new Map<CliProject, number>();

  before(async () => {
    await admin(`CREATE SCHEMA ${schema}`);
    const storeUrl = `${url}${url!.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
    const config = testConfig("", `store:\n  url: "${storeUrl}"\nha:\n  lease: 3s\n  renew: 1s\n`);
    a = new CliProject(config);
    for (const name of ["b", "c"] as const) {
      const port = await freePort();
      const project = new CliProject(config.replace("api:\n  listen: 127.0.0.1:0", `api:\n  listen: 127.0.0.1:${port}`));
      ports.set(project, port);
      if (name === "b") b = project;
      else c = project;
    }
  });

  after(async () => {
    for (const project of [a, b, c]) await project?.cleanup().catch(() => {});
    await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  });

  it("one leads, two stand by; after kill -9 of the leader a standby leads with the next term, and the other names it", async () => {
    await a.up();
    const first = (await a.run(["status", "--json"])).out;
    const leading = JSON.parse(first).leadership;
    assert.equal(leading.role, "leader");
    assert.equal(leading.term, 1);
    assert.match(leading.leader.address, /^http:\/\/127\.0\.0\.1:\d+$/);

    upStandby(b);
    upStandby(c);
    // a keeps renewing (term 1, a's holder); b and c answer on their API's address once they stand by.
    await waitFor("a renewal by the leader", async () => {
      const [row] = await admin<{ term: string; holder: string }>(`SELECT term, holder FROM ${schema}.leader_lease`);
      return row?.term === "1" && row.holder.includes(`:${a.engine!.pid}:`);
    });
    for (const standby of [b, c]) await waitFor("a standby answering", () => fetch(`http://127.0.0.1:${ports.get(standby)}/v1/health`).then(() => true, () => false), 60_000);
    await new Promise((resolve) => setTimeout(resolve, 2_500)); // more than two renewals: the standbys had their chances to claim
    for (const standby of [b, c]) assert.equal(existsSync(join(standby.dir, ".engineroom/engine.json")), false, "a standby must not start while the leader renews");
    assert.equal((await admin<{ term: string }>(`SELECT term FROM ${schema}.leader_lease`))[0]?.term, "1");
    // A standby's API address answers every request NOT_LEADER, naming the leader's API.
    for (const standby of [b, c]) {
      const answer = await standbyAnswer(ports.get(standby)!);
      assert.equal(answer.status, 409);
      assert.equal(answer.code, "NOT_LEADER");
      assert.ok(answer.hint.includes(leading.leader.address), answer.hint);
      assert.equal(answer.leader?.term, 1);
    }

    await a.kill("SIGKILL");
    // Whichever standby claims first leads; it writes engine.json once it serves.
    let winner: CliProject | undefined;
    await waitFor("a standby leading", () => (winner = [b, c].find((p) => p.info()?.pid === p.engine?.pid)) !== undefined, 60_000);
    const loser = winner === b ? c : b;
    const after = JSON.parse((await winner!.run(["status", "--json"])).out).leadership;
    assert.equal(after.role, "leader");
    assert.equal(after.term, 2);
    assert.equal(after.leader.address, `http://127.0.0.1:${ports.get(winner!)}`);
    // The other standby names the new leader (its next claim, within a renew period, read it), not the dead one.
    await waitFor("the other standby naming the new leader's API", async () => {
      const seen = await standbyAnswer(ports.get(loser)!);
      return seen.leader?.term === 2 && seen.hint.includes(`http://127.0.0.1:${ports.get(winner!)}`);
    }, 20_000);
    const answer = await standbyAnswer(ports.get(loser)!);
    assert.equal(answer.status, 409);
    assert.equal(answer.leader?.holder, after.holder);
    assert.ok(answer.hint.includes(`http://127.0.0.1:${ports.get(winner!)}`), answer.hint);
    assert.ok(!answer.hint.includes(leading.leader.address), answer.hint);
    assert.equal(existsSync(join(loser.dir, ".engineroom/engine.json")), false, "the other standby still stands by");

    // One engine.started per engine that led, each once: the log is the store's, shared.
    const started = await admin<{ id: string; data: string }>(`SELECT id, data FROM ${schema}.events WHERE type = 'engine.started' ORDER BY id`);
    const pids = started.map((row) => (JSON.parse(row.data) as { pid: number }).pid);
    assert.deepEqual(pids, [a.engine!.pid, winner!.engine!.pid]);
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
