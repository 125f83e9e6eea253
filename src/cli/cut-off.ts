import type { Progress } from "../deploy/index.js";

/** The streaming operations of the CLI. */
export type Operation = "deploy" | "promote" | "approve" | "rollback" | "abort" | "watch" | "apply";

/** How far a release had got, by the step of its last progress line, and whether its switch happened. */
const releaseSteps: Record<string, { reached: string; switched: boolean | "maybe" }> = {
  artifact: { reached: "was storing the artifact; no release had been created", switched: false },
  release: { reached: "had been created; its instances were not started yet", switched: false },
  starting: { reached: "had started its instances and was at the health gate", switched: false },
  healthy: { reached: "had passed the health gate and was running its smoke tests", switched: false },
  verified: { reached: "had passed its smoke tests and was switching", switched: "maybe" },
  approval: { reached: "was verified and waited for approval", switched: false },
  live: { reached: "was live: the switch had happened", switched: true },
  analysis: { reached: "was live and in its watch window", switched: true },
  failed: { reached: "had failed", switched: false },
};

/**
 * Says what state an operation was left in when the engine went away, from the progress lines the
 * CLI saw, e.g. "the deploy of web v3 had started its instances and was at the health gate; the
 * switch had not happened: production still serves v2; the next `engineroom up` marks v3 failed".
 */
export function describeCutOff(operation: Operation, subject: string, seen: readonly Progress[]): string {
  const last = seen.at(-1);
  if (!last) return `the ${operation} of ${subject} had reported no progress yet; whatever served before keeps serving (\`engineroom status\` after \`engineroom up\` shows what runs)`;
  switch (operation) {
    case "deploy":
    case "promote":
    case "approve":
      return describeRelease(operation, subject, seen, last);
    case "rollback":
    case "abort": {
      const switched = seen.some((p) => p.step === "switched");
      const targetLine = seen.find((p) => p.step === "target")?.message;
      const target = targetLine?.replace(/^rolling back /, "") ?? "the previous release";
      if (switched) return `the ${operation} of ${subject} had switched (${target}); traffic is on the target release`;
      if (targetLine && (!/cold/.test(targetLine) || seen.some((p) => p.step === "healthy"))) {
        return `the ${operation} of ${subject} (${target}) was switching to its target; \`engineroom status\` after \`engineroom up\` shows which release serves`;
      }
      return `the ${operation} of ${subject} (${target}) had not switched yet: the release it was rolling back from still serves; run it again after \`engineroom up\``;
    }
    case "watch":
      return `the watch of ${subject} was being followed (${last.message}); the release keeps serving and its watch goes on when the engine is back (\`engineroom watch ${subject}\`)`;
    case "apply":
      return `apply had got to: ${last.message}; what was done stays done and serving, and \`engineroom plan\` after \`engineroom up\` shows what is left`;
  }
}

function describeRelease(operation: Operation, subject: string, seen: readonly Progress[], last: Progress): string {
  const created = seen.find((p) => p.step === "release");
  const number = created && /\bv(\d+)\b/.exec(created.message)?.[1];
  const environment = created && / in (\S+)$/.exec(created.message)?.[1];
  const name = number ? `${subject} v${number}` : subject;
  const step = releaseSteps[last.step] ?? { reached: `had got to "${last.step}: ${last.message}"`, switched: "maybe" as const };
  const where = environment ?? "the environment";
  const live = created?.data?.live as { number: number } | null | undefined;
  const before = live === undefined ? "the release live before it" : live === null ? "nothing (it had no live release)" : `v${live.number}`;
  const parts = [`the ${operation} of ${name} ${step.reached}`];
  if (step.switched === false && last.step !== "failed") {
    parts.push(`the switch had not happened: ${where} still serves ${before}`);
    if (number) parts.push(`the next \`engineroom up\` marks v${number} failed`);
  } else if (step.switched === "maybe") {
    parts.push(`it may or may not have switched; \`engineroom status\` after \`engineroom up\` shows whether ${where} serves v${number ?? "?"} or ${before}`);
  } else if (step.switched === true) {
    parts.push(`${where} serves it, and its watch goes on when the engine is back (\`engineroom up\`)`);
  }
  return parts.join("; ");
}
