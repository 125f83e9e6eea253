import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join, relative, resolve, sep } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { EngineError } from "../core/index.js";
import type { TestSummary } from "./statement.js";

export type TestOutcome = "passed" | "failed" | "error" | "skipped";

/** One test case of a JUnit report. */
export interface TestCase {
  name: string;
  /** The test file it belongs to: its own `file` attribute, an enclosing suite's, or else the report's (see `unitOfReport`). */
  file: string;
  timeMs: number;
  outcome: TestOutcome;
}

type Node = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  isArray: (name) => name === "testsuite" || name === "testcase" || name === "testsuites",
});

/**
 * The test file a report stands for when its cases name none (Node's junit reporter names no file):
 * its file name without `.xml`, with `__` read as `/` — the workflow writes one report per test file
 * that way (`test/e2e/deploy.test.ts` → `reports/test__e2e__deploy.test.ts.xml`).
 */
export function unitOfReport(path: string): string {
  return basename(path).replace(/\.xml$/i, "").split("__").join("/");
}

/** The report file a test file's JUnit output is written to under `dir` (the inverse of `unitOfReport`). */
export function reportNameOf(testFile: string): string {
  return `${testFile.split(sep).join("/").split("/").join("__")}.xml`;
}

/** The cases of one JUnit XML report; CI_REPORT_INVALID when it is not well-formed JUnit. */
export function parseJunit(xml: string, path: string): TestCase[] {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new EngineError("CI_REPORT_INVALID", `${path} is not well-formed XML: ${valid.err.msg} (line ${valid.err.line}).`);
  const doc = parser.parse(xml) as Node;
  const roots = [...asArray(doc.testsuites), ...asArray(doc.testsuite).map((suite) => ({ testsuite: [suite] }))];
  if (roots.length === 0) throw new EngineError("CI_REPORT_INVALID", `${path} holds no <testsuites> or <testsuite>: not a JUnit report.`);
  const cases: TestCase[] = [];
  const fallback = unitOfReport(path);
  const walk = (node: Node, file: string | undefined) => {
    const here = typeof node["@file"] === "string" ? (node["@file"] as string) : file;
    for (const c of asArray(node.testcase)) cases.push(caseOf(c, here ?? fallback, path));
    for (const suite of asArray(node.testsuite)) walk(suite, here);
  };
  for (const root of roots) walk(root, undefined);
  return cases;
}

function caseOf(node: Node, suiteFile: string, path: string): TestCase {
  const file = typeof node["@file"] === "string" && node["@file"] ? (node["@file"] as string) : suiteFile;
  const seconds = Number(node["@time"] ?? 0);
  if (!Number.isFinite(seconds) || seconds < 0) throw new EngineError("CI_REPORT_INVALID", `${path}: the test "${String(node["@name"])}" has time="${String(node["@time"])}", not a number of seconds.`);
  const outcome: TestOutcome = "failure" in node ? "failed" : "error" in node ? "error" : "skipped" in node ? "skipped" : "passed";
  return { name: String(node["@name"] ?? ""), file, timeMs: seconds * 1000, outcome };
}

function asArray(value: unknown): Node[] {
  if (value === undefined || value === null || value === "") return [];
  return (Array.isArray(value) ? value : [value]).filter((v): v is Node => typeof v === "object" && v !== null);
}

/** Counts and total time of the cases. */
export function summarize(cases: readonly TestCase[]): TestSummary {
  const count = (outcome: TestOutcome) => cases.filter((c) => c.outcome === outcome).length;
  const timeMs = Math.round(cases.reduce((sum, c) => sum + c.timeMs, 0) * 1000) / 1000;
  return { tests: cases.length, failures: count("failed"), errors: count("error"), skipped: count("skipped"), timeMs };
}

/** Total time per test file, in whole milliseconds (at least 1). */
export function fileTimings(cases: readonly TestCase[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const c of cases) totals.set(c.file, (totals.get(c.file) ?? 0) + c.timeMs);
  return new Map([...totals].map(([file, ms]) => [file, Math.max(1, Math.round(ms))]));
}

/**
 * The report files `spec` names: a file, a folder (every `.xml` under it), or a glob with `*`, `**`
 * and `?` (relative to `cwd`). CI_REPORT_INVALID when it names none.
 */
export async function findReports(spec: string, cwd = process.cwd(), options: { required?: boolean } = {}): Promise<string[]> {
  const found = /[*?]/.test(spec) ? await glob(spec, cwd) : await under(resolve(cwd, spec));
  if (found.length === 0 && options.required !== false) throw new EngineError("CI_REPORT_INVALID", `No JUnit report (.xml) at ${spec}.`);
  return found.sort();
}

/** Reads and parses every report `spec` names; with `required: false`, none is no case rather than CI_REPORT_INVALID (a first run has no history). */
export async function readReports(spec: string, cwd = process.cwd(), options: { required?: boolean } = {}): Promise<TestCase[]> {
  const files = await findReports(spec, cwd, options);
  const all: TestCase[] = [];
  for (const file of files) all.push(...parseJunit(await readFile(file, "utf8"), file));
  return all;
}

async function under(path: string): Promise<string[]> {
  const found = await stat(path).catch(() => undefined);
  if (!found) return [];
  if (found.isFile()) return [path];
  return (await walkFiles(path)).filter((f) => f.toLowerCase().endsWith(".xml"));
}

async function walkFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walkFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** The files a glob (`*`, `**`, `?`) matches under `cwd`, as paths relative to it with `/`, sorted. */
export async function matchFiles(pattern: string, cwd = process.cwd()): Promise<string[]> {
  return (await glob(pattern, cwd)).map((f) => relative(cwd, f).split(sep).join("/")).sort();
}

/** Files under the glob's fixed leading folders whose relative path matches it. */
async function glob(pattern: string, cwd: string): Promise<string[]> {
  const parts = pattern.split("/");
  const fixed: string[] = [];
  while (parts.length > 1 && !/[*?]/.test(parts[0]!)) fixed.push(parts.shift()!);
  const base = resolve(cwd, ...fixed);
  const regex = globRegex(parts.join("/"));
  const files = await stat(base).then((s) => (s.isDirectory() ? walkFiles(base) : []), () => [] as string[]);
  return files.filter((f) => regex.test(relative(base, f).split(sep).join("/")));
}

/** `**` any folders (or none), `*` anything but `/`, `?` one character but `/`. */
export function globRegex(pattern: string): RegExp {
  let source = "";
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i]!;
    if (ch === "*" && pattern[i + 1] === "*") {
      const slash = pattern[i + 2] === "/";
      source += slash ? "(?:.*/)?" : ".*";
      i += slash ? 2 : 1;
    } else if (ch === "*") source += "[^/]*";
    else if (ch === "?") source += "[^/]";
    else source += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}
