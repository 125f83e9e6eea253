import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { NoOperationTraceWriter, convertWorkflowTemplate, parseWorkflow } from "@actions/workflow-parser";
import { githubWorkflow, type WorkflowOptions } from "./index.js";

const options: WorkflowOptions = { service: "web", firstEnvironment: "staging", nextEnvironment: "production", artifactDir: "dist", testFiles: "test/**/*.test.js", shards: 4, branch: "main", nodeVersion: "20" };

/** GitHub's own parser: its errors, and the jobs it read. */
async function check(content: string): Promise<{ errors: string[]; jobs: string[] }> {
  const parsed = parseWorkflow({ name: "engineroom.yml", content }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  if (errors.length > 0 || !parsed.value) return { errors, jobs: [] };
  const template = await convertWorkflowTemplate(parsed.context, parsed.value);
  return { errors: (template.errors ?? []).map((e) => e.Message), jobs: (template.jobs ?? []).map((j) => String(j.id)) };
}

describe("engineroom ci github", () => {
  it("writes a workflow GitHub's parser reads without an error: plan, test, release, promote", async () => {
    const text = githubWorkflow(options);
    assert.deepEqual(await check(text), { errors: [], jobs: ["plan", "test", "release", "promote"] });
    assert.match(text, /\$\{\{ secrets\.ENGINEROOM_TOKEN \}\}/);
    assert.match(text, /\$\{\{ secrets\.ENGINEROOM_CI_KEY \}\}/);
    assert.match(text, /engineroom ci plan --shards 4 --reports reports --files 'test\/\*\*\/\*\.test\.js'/);
    assert.match(text, /engineroom deploy web --artifact "\$\{\{ steps\.upload\.outputs\.digest \}\}" --watch/);
    assert.match(text, /engineroom promote web --to production/);
    assert.match(text, /inputs\.promote/);
  });

  it("leaves the promote job out when the chain has one environment", async () => {
    const result = await check(githubWorkflow({ ...options, nextEnvironment: undefined }));
    assert.deepEqual(result, { errors: [], jobs: ["plan", "test", "release"] });
  });

  it("is checked for real: a broken workflow is reported by the same parser", async () => {
    const text = githubWorkflow(options);
    const misspelt = await check(text.replace("    runs-on: ubuntu-latest\n    outputs:", "    runs-on: ubuntu-latest\n    outputz:"));
    assert.ok(misspelt.errors.some((e) => /outputz/.test(e)), misspelt.errors.join("\n"));
    const unclosed = await check(text.replace("${{ secrets.ENGINEROOM_TOKEN }}", "${{ secrets.ENGINEROOM_TOKEN"));
    assert.ok(unclosed.errors.some((e) => /not closed/.test(e)), unclosed.errors.join("\n"));
  });

  it("refuses a value a workflow would have to quote", () => {
    assert.throws(() => githubWorkflow({ ...options, artifactDir: "dist; rm -rf /" }), { code: "CI_PLAN_INVALID" });
  });
});
