import { EngineError } from "../core/index.js";

export interface WorkflowOptions {
  /** The service the workflow deploys. */
  service: string;
  /** The first environment of the chain (where `deploy` goes), and the next one, if any (where `promote` goes). */
  firstEnvironment: string;
  nextEnvironment?: string;
  /** The folder the build writes to, relative to the repository, e.g. `dist`. */
  artifactDir: string;
  /** Test files, as a glob `engineroom ci plan --files` reads, e.g. `test/**\/*.test.js`. */
  testFiles: string;
  shards: number;
  /** The branch whose pushes deploy. */
  branch: string;
  nodeVersion: string;
}

const safe = /^[A-Za-z0-9._\-/*?]+$/;

/**
 * A GitHub Actions workflow: plan shards from the recorded JUnit timings, test in that matrix, build,
 * sign and upload the build with its provenance, deploy it to the first environment and stay through
 * its watch window; when run by hand with `promote: true`, promote it to the next environment once it
 * is stable. Secrets are named by reference only (`secrets.ENGINEROOM_TOKEN`, `secrets.ENGINEROOM_CI_KEY`);
 * the engine's address is the repository variable `ENGINEROOM_API_URL`.
 */
export function githubWorkflow(o: WorkflowOptions): string {
  for (const [name, value] of Object.entries({ service: o.service, artifactDir: o.artifactDir, testFiles: o.testFiles, branch: o.branch, nodeVersion: o.nodeVersion })) {
    if (!safe.test(value)) throw new EngineError("CI_PLAN_INVALID", `The workflow's ${name} "${value}" holds characters a workflow would have to quote; use letters, digits, . _ - / * ?.`);
  }
  const setup = `      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: ${o.nodeVersion}
          cache: npm
      - run: npm ci`;
  const promote = o.nextEnvironment
    ? `
  promote:
    # Run by hand (workflow_dispatch) with promote: true, after the deploy's watch window ended stable.
    needs: release
    if: github.event_name == 'workflow_dispatch' && inputs.promote
    runs-on: ubuntu-latest
    environment: ${o.nextEnvironment}
    env:
      ENGINEROOM_TOKEN: \${{ secrets.ENGINEROOM_TOKEN }}
    steps:
${setup}
      - name: Promote ${o.service} to ${o.nextEnvironment}
        run: npx engineroom promote ${o.service} --to ${o.nextEnvironment}
`
    : "";
  return `# Written by \`engineroom ci github\`. Build, test in shards planned from the recorded test timings,
# sign and upload the build to Engineroom, deploy it to ${o.firstEnvironment} and watch it${o.nextEnvironment ? `; promote it to
# ${o.nextEnvironment} when run by hand with promote: true` : ""}.
# Needs: the repository variable ENGINEROOM_API_URL (http://host:port of the engine's API), and the
# secrets ENGINEROOM_TOKEN (an API token allowed to deploy) and ENGINEROOM_CI_KEY (the private key of
# \`engineroom ci keygen\`, whose public key is under ci.trusted_keys in engineroom.yaml).
name: engineroom

on:
  push:
    branches: [${o.branch}]
  workflow_dispatch:
    inputs:
      promote:
        description: Promote the release${o.nextEnvironment ? ` to ${o.nextEnvironment}` : ""} once it is stable in ${o.firstEnvironment}
        type: boolean
        default: false

concurrency:
  group: engineroom-\${{ github.ref }}
  cancel-in-progress: false

env:
  ENGINEROOM_API_URL: \${{ vars.ENGINEROOM_API_URL }}

jobs:
  plan:
    runs-on: ubuntu-latest
    outputs:
      matrix: \${{ steps.plan.outputs.matrix }}
    steps:
${setup}
      - name: Restore the recorded test timings
        uses: actions/cache/restore@v4
        with:
          path: reports
          key: engineroom-junit-\${{ github.ref_name }}-\${{ github.run_id }}
          restore-keys: |
            engineroom-junit-\${{ github.ref_name }}-
            engineroom-junit-
      - name: Plan ${o.shards} shards, longest tests first
        id: plan
        run: |
          mkdir -p reports
          npx engineroom ci plan --shards ${o.shards} --reports reports --files '${o.testFiles}' > plan.json
          echo "matrix=$(jq -c .matrix plan.json)" >> "$GITHUB_OUTPUT"
      - uses: actions/upload-artifact@v4
        with:
          name: shard-plan
          path: plan.json

  test:
    needs: plan
    runs-on: ubuntu-latest
    strategy:
      fail-fast: false
      matrix: \${{ fromJSON(needs.plan.outputs.matrix) }}
    steps:
${setup}
      - uses: actions/download-artifact@v4
        with:
          name: shard-plan
      - name: Test shard \${{ matrix.shard }}
        run: |
          mkdir -p reports
          status=0
          for file in $(jq -r --argjson shard \${{ matrix.shard }} '.plan[] | select(.shard == $shard) | .files[]' plan.json); do
            node --test --test-reporter=spec --test-reporter-destination=stdout \\
              --test-reporter=junit --test-reporter-destination="reports/$(echo "$file" | sed 's|/|__|g').xml" "$file" || status=1
          done
          exit $status
      - uses: actions/upload-artifact@v4
        if: always()
        with:
          name: junit-\${{ matrix.shard }}
          path: reports

  release:
    needs: test
    if: github.event_name == 'workflow_dispatch' || github.ref == 'refs/heads/${o.branch}'
    runs-on: ubuntu-latest
    env:
      ENGINEROOM_TOKEN: \${{ secrets.ENGINEROOM_TOKEN }}
    steps:
${setup}
      - name: Build
        run: npm run build --if-present
      - uses: actions/download-artifact@v4
        with:
          pattern: junit-*
          path: reports
          merge-multiple: true
      - name: Keep the test timings for the next plan
        uses: actions/cache/save@v4
        with:
          path: reports
          key: engineroom-junit-\${{ github.ref_name }}-\${{ github.run_id }}
      - name: Sign and upload the build with its provenance
        id: upload
        env:
          ENGINEROOM_CI_KEY: \${{ secrets.ENGINEROOM_CI_KEY }}
        run: |
          key="$RUNNER_TEMP/engineroom-ci.key"
          install -m 600 /dev/null "$key"
          printf '%s\\n' "$ENGINEROOM_CI_KEY" > "$key"
          npx engineroom ci upload ${o.artifactDir} --key "$key" --tests reports \\
            --commit "$GITHUB_SHA" --branch "$GITHUB_REF_NAME" \\
            --run-url "$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/actions/runs/$GITHUB_RUN_ID" --json > upload.json
          rm -f "$key"
          echo "digest=$(jq -r .digest upload.json)" >> "$GITHUB_OUTPUT"
      - name: Deploy ${o.service} to ${o.firstEnvironment} and watch it
        run: npx engineroom deploy ${o.service} --artifact "\${{ steps.upload.outputs.digest }}" --watch
${promote}`;
}
