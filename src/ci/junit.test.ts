import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileTimings, findReports, globRegex, parseJunit, readReports, reportNameOf, summarize, unitOfReport } from "./index.js";
import { scratchFolder } from "./test-support.js";

const scratch = scratchFolder("engineroom-junit-");

describe("JUnit reports", () => {
  it("reads what Node's own junit reporter writes, the file taken from the report's name", async () => {
    const test = join(scratch.dir(), "sample.test.mjs");
    await writeFile(test, `import { describe, it } from "node:test";\ndescribe("group", () => { it("one", () => {}); it("two", { skip: true }, () => {}); });\nit("top", () => { throw new Error("x"); });\n`);
    const report = join(scratch.dir(), reportNameOf("test/e2e/sample.test.mjs"));
    // Without the runner's own marker, or the child would take itself for a subtest and run nothing.
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const run = spawnSync(process.execPath, ["--test", "--test-reporter=junit", `--test-reporter-destination=${report}`, test], { encoding: "utf8", env });
    assert.equal(run.status, 1, run.stderr);
    const cases = parseJunit(await readFile(report, "utf8"), report);
    assert.deepEqual(cases.map((c) => [c.name, c.outcome, c.file]).sort(), [
      ["one", "passed", "test/e2e/sample.test.mjs"],
      ["top", "failed", "test/e2e/sample.test.mjs"],
      ["two", "skipped", "test/e2e/sample.test.mjs"],
    ]);
    const summary = summarize(cases);
    assert.deepEqual({ ...summary, timeMs: 0 }, { tests: 3, failures: 1, errors: 0, skipped: 1, timeMs: 0 });
    assert.ok(summary.timeMs >= 0);
  });

  it("takes a case's file from its own attribute or an enclosing suite's, and sums times per file", () => {
    const xml = `<?xml version="1.0"?>
<testsuites>
  <testsuite name="a" file="src/a.test.ts" time="3">
    <testcase name="x" time="1.5"/>
    <testcase name="y" time="0.5"><error message="boom"/></testcase>
    <testcase name="z" time="2" file="src/z.test.ts"/>
  </testsuite>
</testsuites>`;
    const cases = parseJunit(xml, "reports/all.xml");
    assert.deepEqual(cases.map((c) => [c.file, c.outcome]), [["src/a.test.ts", "passed"], ["src/a.test.ts", "error"], ["src/z.test.ts", "passed"]]);
    assert.deepEqual([...fileTimings(cases)], [["src/a.test.ts", 2000], ["src/z.test.ts", 2000]]);
    // a lone <testsuite> root is a report too
    assert.equal(parseJunit(`<testsuite name="s"><testcase name="t" time="0.001"/></testsuite>`, "x.xml")[0]!.file, "x");
  });

  it("refuses what is not JUnit XML with CI_REPORT_INVALID", () => {
    assert.throws(() => parseJunit("<testsuites><testcase name='a'>", "broken.xml"), (e: Error & { code?: string }) => e.code === "CI_REPORT_INVALID" && /broken\.xml/.test(e.message));
    assert.throws(() => parseJunit("<html><body/></html>", "page.xml"), { code: "CI_REPORT_INVALID" });
    assert.throws(() => parseJunit(`<testsuites><testcase name="a" time="soon"/></testsuites>`, "t.xml"), { code: "CI_REPORT_INVALID" });
  });

  it("finds reports by file, folder or glob, and names report files after test files", async () => {
    const root = join(scratch.dir(), "tree");
    await mkdir(join(root, "reports", "deep"), { recursive: true });
    const xml = `<testsuites><testcase name="t" time="0.25"/></testsuites>`;
    await writeFile(join(root, "reports", "test__a.test.ts.xml"), xml);
    await writeFile(join(root, "reports", "deep", "test__b.test.ts.xml"), xml);
    await writeFile(join(root, "reports", "notes.txt"), "not a report");
    assert.equal((await findReports("reports", root)).length, 2);
    assert.equal((await findReports("reports/*.xml", root)).length, 1);
    assert.equal((await findReports("reports/**/*.xml", root)).length, 2);
    await assert.rejects(findReports("nothing", root), { code: "CI_REPORT_INVALID" });
    assert.deepEqual([...fileTimings(await readReports("reports", root))].sort(), [["test/a.test.ts", 250], ["test/b.test.ts", 250]]);
    assert.equal(unitOfReport(reportNameOf("test/e2e/x.test.ts")), "test/e2e/x.test.ts");
    assert.ok(globRegex("test/**/*.test.*").test("test/e2e/deploy.test.ts"));
    assert.ok(globRegex("test/**/*.test.*").test("test/cli.test.ts"));
    assert.ok(!globRegex("test/*.test.*").test("test/e2e/deploy.test.ts"));
  });
});
