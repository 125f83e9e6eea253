import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import * as tar from "tar";
import { ArtifactStore, skippedTopLevel } from "../artifact/index.js";
import {
  encodeStatement,
  generateCiKey,
  githubWorkflow,
  matchFiles,
  fileTimings,
  readCiKey,
  readReports,
  shardPlan,
  signatureHeader,
  signValue,
  statementHeader,
  summarize,
  type AcceptedArtifact,
  type UploadStatement,
} from "../ci/index.js";
import { EngineError } from "../core/index.js";
import { configPath, engineTarget, type EngineTarget, type GlobalOptions } from "./connect.js";
import { wantsJson } from "./group-support.js";
import { dim, green, out } from "./render.js";

interface UploadOptions {
  key: string;
  commit?: string;
  commitTime?: string;
  branch?: string;
  runUrl?: string;
  tests?: string;
  json?: boolean;
}

/**
 * `engineroom ci keygen | upload | plan | github`: what a CI job runs to hand builds to the engine —
 * a signing key pair, a signed upload with provenance, a test shard plan from JUnit timings, and the
 * GitHub Actions workflow that does all of it.
 */
export function registerCiCommands(program: Command, globals: (command: Command) => GlobalOptions): void {
  const ci = program.command("ci").description("builds from CI: keygen, upload, plan, github");

  ci.command("keygen")
    .description("write an ed25519 key pair for signing uploads: the private key to a file (owner-only), the public key printed for ci.trusted_keys")
    .option("--out <file>", "where the private key goes (never overwritten)", "engineroom-ci.key")
    .option("--json", "print JSON")
    .action((options: { out: string; json?: boolean }, command: Command) => {
      const file = resolve(options.out);
      const { publicKey, fingerprint } = generateCiKey(file);
      if (wantsJson(options, command)) return out(JSON.stringify({ privateKeyFile: file, publicKey, fingerprint }, null, 2));
      out(`${green("wrote")} ${file} (private key, mode 600: keep it out of git; store it as the CI secret ENGINEROOM_CI_KEY)`);
      out(`public key (fingerprint ${fingerprint}); add it to engineroom.yaml and restart the engine:\n\nci:\n  trusted_keys:\n    - name: ci\n      key: ${publicKey}`);
    });

  ci.command("upload")
    .description("pack (a folder) or take (a .tgz) a build, sign it with its provenance, and upload it to the engine; prints its digest for `deploy --artifact`")
    .argument("<build>", "the build: a folder or a .tgz")
    .requiredOption("--key <file>", "the private key file of `engineroom ci keygen`")
    .option("--commit <sha>", "the commit it was built from (default: $GITHUB_SHA, else git's HEAD)")
    .option("--commit-time <time>", "the commit's time, ISO 8601 or epoch seconds (default: git's committer date of the commit, when git knows it)")
    .option("--branch <name>", "the branch (default: $GITHUB_REF_NAME, else git's current branch)")
    .option("--run-url <url>", "the CI run (default: from $GITHUB_SERVER_URL, $GITHUB_REPOSITORY and $GITHUB_RUN_ID)")
    .option("--tests <reports>", "the run's JUnit XML reports (a file, a folder or a glob): their summary goes with the provenance")
    .option("--json", "print JSON")
    .action(async (build: string, options: UploadOptions, command: Command) => {
      const accepted = await upload(build, options, globals(command));
      if (wantsJson(options, command)) return out(JSON.stringify(accepted, null, 2));
      const p = accepted.provenance;
      out(`${green("uploaded")} ${accepted.digest}${accepted.existed ? dim(" (stored already)") : ""}: commit ${p.commit.slice(0, 12)} on ${p.branch}, signed by ${p.signedBy}${p.tests ? `, tests ${p.tests.tests - p.tests.failures - p.tests.errors - p.tests.skipped} passed of ${p.tests.tests}` : ""}`);
      out(`deploy it: engineroom deploy <service> --artifact ${accepted.digest}`);
    });

  ci.command("plan")
    .description("a balanced test shard plan (longest first) from recorded JUnit timings, with a cache key, as JSON for a CI matrix")
    .requiredOption("--shards <n>", "how many shards")
    .option("--reports <reports>", "recorded JUnit XML reports: a file, a folder or a glob (none yet: every file counts alike)", "reports")
    .option("--files <glob>", "the test files that exist now (default: every file the reports name)")
    .option("--shard <k>", "print only shard k's files, one per line")
    .action(async (options: { shards: string; reports: string; files?: string; shard?: string }) => {
      const shards = Number(options.shards);
      const timings = fileTimings(await readReports(options.reports, process.cwd(), { required: false }));
      const plan = shardPlan(timings, shards, options.files === undefined ? undefined : await matchFiles(options.files));
      if (options.shard === undefined) return out(JSON.stringify(plan, null, 2));
      const shard = plan.plan.find((s) => String(s.shard) === options.shard);
      if (!shard) throw new EngineError("CI_PLAN_INVALID", `--shard ${options.shard} is not one of 1 to ${shards}.`);
      if (shard.files.length > 0) out(shard.files.join("\n"));
    });

  ci.command("github")
    .description("write a GitHub Actions workflow: plan shards, test, build, sign and upload, deploy to the first environment and watch, promote when asked")
    .option("--out <file>", "where to write it", ".github/workflows/engineroom.yml")
    .option("--service <name>", "the service it deploys (default: the first declared)")
    .option("--artifact-dir <dir>", "the folder the build writes (default: the service's artifact key, else dist)")
    .option("--test-files <glob>", "the test files", "test/**/*.test.js")
    .option("--shards <n>", "test shards", "4")
    .option("--branch <name>", "the branch whose pushes deploy", "main")
    .option("--node <version>", "the Node.js version", "20")
    .option("--force", "overwrite the file if it exists")
    .action(async (options: { out: string; service?: string; artifactDir?: string; testFiles: string; shards: string; branch: string; node: string; force?: boolean }, command: Command) => {
      const { loadProject } = await import("../config/index.js");
      const project = loadProject(configPath(globals(command)));
      const services = Object.keys(project.config.services);
      const service = options.service ?? services[0]!;
      if (!services.includes(service)) throw new EngineError("SERVICE_UNKNOWN", `No service named "${service}" in this project (declared: ${services.join(", ")}).`);
      const declared = project.config.services[service]!.artifact;
      const [first, next] = project.config.environments;
      const text = githubWorkflow({
        service,
        firstEnvironment: first!.name,
        ...(next && { nextEnvironment: next.name }),
        artifactDir: options.artifactDir ?? (declared && !/\.(tgz|tar\.gz)$/.test(declared) ? declared.replace(/^\.\//, "").replace(/\/$/, "") || "." : "dist"),
        testFiles: options.testFiles,
        shards: Number(options.shards),
        branch: options.branch,
        nodeVersion: options.node,
      });
      const file = resolve(options.out);
      if (existsSync(file) && !options.force) throw new EngineError("CI_PLAN_INVALID", `${file} exists already.`, { hint: "Pass --force to overwrite it, or --out another file." });
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
      out(`${green("wrote")} ${file}: deploys ${service} to ${first!.name}${next ? `, promotes to ${next.name} when run with promote: true` : ""}`);
      out("set the repository variable ENGINEROOM_API_URL and the secrets ENGINEROOM_TOKEN and ENGINEROOM_CI_KEY");
    });
}

/** Packs (or takes) the build, signs its statement, and streams it to the engine's POST /v1/artifacts. */
export async function upload(build: string, options: UploadOptions, globals: GlobalOptions): Promise<AcceptedArtifact> {
  const key = readCiKey(resolve(options.key));
  const source = resolve(build);
  const found = await stat(source).catch(() => undefined);
  if (!found) throw new EngineError("ARTIFACT_NOT_FOUND", `There is no build at ${build}.`);
  const work = await mkdtemp(join(tmpdir(), "engineroom-upload-"));
  try {
    const archive = found.isDirectory() ? await pack(source, join(work, "build.tgz")) : source;
    // The digest the engine will find: the archive unpacked the same way, by the same store.
    const { digest } = await new ArtifactStore({ dir: join(work, "store") }).add(archive);
    const { sha256, sizeBytes } = await hashFile(archive);
    const statement: UploadStatement = { format: "engineroom-upload-v1", digest, archive: { sha256, sizeBytes }, provenance: await provenance(options) };
    const target = await engineTarget(globals);
    return await post(target, archive, sizeBytes, { [statementHeader]: encodeStatement(statement), [signatureHeader]: signValue(key, statement) });
  } finally {
    await rm(work, { recursive: true, force: true, maxRetries: 3 });
  }
}

async function pack(folder: string, file: string): Promise<string> {
  await tar.c({ gzip: true, file, cwd: folder, portable: true, filter: (path) => !skippedTopLevel.some((name) => path === `./${name}` || path.startsWith(`./${name}/`)) }, ["."]);
  return file;
}

async function hashFile(file: string): Promise<{ sha256: string; sizeBytes: number }> {
  const hash = createHash("sha256");
  let sizeBytes = 0;
  for await (const chunk of createReadStream(file)) {
    hash.update(chunk as Buffer);
    sizeBytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest("hex"), sizeBytes };
}

function git(args: string[]): string | undefined {
  try {
    return execFileSync("git", args, { stdio: ["ignore", "pipe", "ignore"], timeout: 5000 }).toString().trim() || undefined;
  } catch {
    return undefined;
  }
}

/** The provenance from the options, else the CI's environment, else git. */
async function provenance(options: UploadOptions): Promise<UploadStatement["provenance"]> {
  const env = process.env;
  const commit = options.commit ?? env.GITHUB_SHA ?? git(["rev-parse", "HEAD"]);
  const branch = options.branch ?? env.GITHUB_REF_NAME ?? git(["rev-parse", "--abbrev-ref", "HEAD"]);
  const runUrl = options.runUrl ?? (env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : undefined);
  const missing = [!commit && "--commit", !branch && "--branch", !runUrl && "--run-url"].filter(Boolean);
  if (missing.length > 0) throw new EngineError("ARTIFACT_INVALID", `The provenance needs ${missing.join(", ")} (not found in the CI's environment or git).`, { hint: "Pass --commit <sha> --branch <name> --run-url <url>." });
  return { commit: commit!, commitTime: commitTime(options.commitTime, commit!), branch: branch!, runUrl: runUrl!, tests: options.tests ? summarize(await readReports(options.tests)) : null };
}

function commitTime(given: string | undefined, commit: string): number | null {
  if (given !== undefined) {
    const ms = /^\d+$/.test(given) ? Number(given) * 1000 : Date.parse(given);
    if (!Number.isFinite(ms)) throw new EngineError("ARTIFACT_INVALID", `--commit-time "${given}" is neither ISO 8601 nor epoch seconds.`);
    return ms;
  }
  const seconds = git(["show", "-s", "--format=%ct", commit]);
  return seconds && /^\d+$/.test(seconds) ? Number(seconds) * 1000 : null;
}

/** Streams the archive as the body of POST /v1/artifacts; reads the answer even when the engine refuses before the body is all sent. */
function post(target: EngineTarget, file: string, sizeBytes: number, headers: Record<string, string>): Promise<AcceptedArtifact> {
  const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target.address)!;
  // Over HTTPS: trusted by the certificate engine.json or $ENGINEROOM_API_CA names, else by the system's authorities.
  const https = target.https === true || target.ca !== undefined;
  const request = https ? httpsRequest : httpRequest;
  const tls = target.ca === undefined ? {} : { ca: readFileSync(target.ca) };
  return new Promise((resolvePost, reject) => {
    let answered = false;
    const req = request(
      { host: match[1], port: Number(match[2]), method: "POST", path: "/v1/artifacts", ...tls, headers: { authorization: `Bearer ${target.token}`, "content-type": "application/gzip", "content-length": sizeBytes, ...headers } },
      (res) => {
        answered = true;
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => {
          let body: { error?: { code: string; message: string; hint?: string } } & Partial<AcceptedArtifact>;
          try {
            body = JSON.parse(text) as typeof body;
          } catch {
            return reject(new EngineError("ENGINE_GONE", `The engine answered ${res.statusCode} with no JSON.`));
          }
          if (body.error) return reject(new EngineError(body.error.code as never, body.error.message, { hint: body.error.hint }));
          resolvePost(body as AcceptedArtifact);
        });
      },
    );
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (answered) return; // a refusal closes the connection while the body is still going: the answer says why
      reject(new EngineError(error.code === "ECONNREFUSED" ? "ENGINE_NOT_RUNNING" : "ENGINE_GONE", `The upload to ${https ? "https" : "http"}://${target.address} failed: ${error.code ?? error.message}.`));
    });
    createReadStream(file).on("error", reject).pipe(req);
  });
}
