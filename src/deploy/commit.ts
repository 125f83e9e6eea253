import { execFile } from "node:child_process";
import { statSync } from "node:fs";

/** The git commit a deployed artifact folder was built from: what lead time for changes starts from. */
export interface ArtifactCommit {
  /** The full commit hash. */
  sha: string;
  /** The commit time, epoch ms (git's committer date). */
  time: number;
}

/**
 * The newest commit that touched `folder`, when the folder is inside a git work tree
 * (`git log -1 --format='%H %ct' -- .` run in it); undefined for a .tgz, outside git, or when git
 * is missing or slow (2 s): a deploy never waits on it nor fails for it.
 */
export async function artifactCommit(folder: string): Promise<ArtifactCommit | undefined> {
  try {
    if (!statSync(folder).isDirectory()) return undefined;
  } catch {
    return undefined;
  }
  const out = await new Promise<string | undefined>((resolve) => {
    execFile("git", ["log", "-1", "--format=%H %ct", "--", "."], { cwd: folder, timeout: 2000, windowsHide: true }, (error, stdout) => resolve(error ? undefined : stdout));
  });
  const match = /^([0-9a-f]{40,64}) (\d+)\s*$/.exec(out ?? "");
  return match ? { sha: match[1]!, time: Number(match[2]) * 1000 } : undefined;
}
