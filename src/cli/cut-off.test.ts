import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { simpleStateDir } from "./connect.js";
import { describeCutOff } from "./cut-off.js";

describe("what the CLI says when the engine went away", () => {
  const release = { step: "release", message: "release v3 of sha256:0123456789ab in production", data: { live: { number: 2, id: "r2" } } };

  it("names the step a deploy had reached, what still serves, and what the next up does", () => {
    const said = describeCutOff("deploy", "web", [{ step: "artifact", message: "storing" }, release, { step: "starting", message: "started web-production-v3-1 on :4000" }]);
    assert.equal(said, "the deploy of web v3 had started its instances and was at the health gate; the switch had not happened: production still serves v2; the next `engineroom up` marks v3 failed");
    assert.match(describeCutOff("deploy", "web", [{ ...release, data: { live: null } }]), /production still serves nothing \(it had no live release\)/);
    assert.match(describeCutOff("deploy", "web", [release, { step: "verified", message: "ok" }]), /may or may not have switched/);
    assert.match(describeCutOff("promote", "web", [release, { step: "live", message: "live" }]), /was live: the switch had happened; production serves it/);
    assert.match(describeCutOff("deploy", "web", []), /had reported no progress yet/);
  });

  it("tells a rollback that had switched from one that had not", () => {
    const cold = { step: "target", message: "rolling back v3 → v1 (cold: starting it)" };
    assert.match(describeCutOff("rollback", "web", [cold]), /\(v3 → v1 \(cold: starting it\)\) had not switched yet: the release it was rolling back from still serves/);
    assert.match(describeCutOff("rollback", "web", [cold, { step: "healthy", message: "v1 healthy" }]), /was switching to its target/);
    assert.match(describeCutOff("abort", "web", [{ step: "target", message: "rolling back v3 → v1 (warm)" }, { step: "switched", message: "traffic on v1" }]), /had switched \(v3 → v1 \(warm\)\); traffic is on the target release/);
  });
});

describe("the state folder from the config's text", () => {
  it("reads a plain top-level state_dir, and leaves anything less simple to the YAML parser", () => {
    assert.equal(simpleStateDir("project: x\n"), ".engineroom");
    assert.equal(simpleStateDir("project: x\n# state_dir: elsewhere\n"), ".engineroom");
    assert.equal(simpleStateDir("state_dir: .state # here\n"), ".state");
    assert.equal(simpleStateDir('state_dir: "a b"\n'), "a b");
    assert.equal(simpleStateDir("state_dir: '../s'\n"), "../s");
    for (const text of ["state_dir: &a x\n", "state_dir: |\n  x\n", "services:\n  web:\n    env:\n      state_dir: x\n", "state_dir: x\nother: state_dir\n", 'state_dir: "a\\tb"\n', "state_dir: ~\n", "{state_dir: x}\n"]) {
      assert.equal(simpleStateDir(text), undefined, text);
    }
  });
});
