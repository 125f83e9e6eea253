import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before } from "node:test";

/** A temporary folder for a test file, made before its tests and removed after: `dir()` names it. */
export function scratchFolder(prefix: string): { dir: () => string } {
  let dir: string | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
  });
  after(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));
  return { dir: () => dir! };
}
