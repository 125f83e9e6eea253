/**
 * Label matchers as Alertmanager writes them: `name=value`, `name!=value`, `name=~regex`,
 * `name!~regex`. Regular expressions are anchored (they match the whole value), and a label that
 * is missing has the value "" (so `team=""`-style matchers can select alerts without it).
 */

export type MatchOp = "=" | "!=" | "=~" | "!~";

export interface Matcher {
  name: string;
  op: MatchOp;
  value: string;
  /** The anchored expression of `=~` and `!~`. */
  regex?: RegExp;
  /** As written, normalised: `service=~web|api`. */
  text: string;
}

/** Parses one matcher; answers a problem (for CONFIG_INVALID or SILENCE_INVALID) instead of throwing. */
export function parseMatcher(text: string): { ok: true; matcher: Matcher } | { ok: false; problem: string } {
  const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$/.exec(text);
  if (!match) return { ok: false, problem: `"${text}" is not a matcher; write name=value, name!=value, name=~regex or name!~regex` };
  const [, name, op, raw] = match as unknown as [string, string, MatchOp, string];
  const value = /^"(.*)"$/.test(raw) ? raw.slice(1, -1) : raw;
  const matcher: Matcher = { name, op, value, text: `${name}${op}${value}` };
  if (op === "=~" || op === "!~") {
    try {
      matcher.regex = new RegExp(`^(?:${value})$`);
    } catch (error) {
      return { ok: false, problem: `"${text}": ${(error as Error).message}` };
    }
  }
  return { ok: true, matcher };
}

/** Parses matchers known to be valid (checked by a schema before); throws on a bad one. */
export function parseMatchers(texts: readonly string[]): Matcher[] {
  return texts.map((text) => {
    const parsed = parseMatcher(text);
    if (!parsed.ok) throw new Error(parsed.problem);
    return parsed.matcher;
  });
}

export function matchOne(matcher: Matcher, labels: Readonly<Record<string, string>>): boolean {
  const value = labels[matcher.name] ?? "";
  switch (matcher.op) {
    case "=":
      return value === matcher.value;
    case "!=":
      return value !== matcher.value;
    case "=~":
      return matcher.regex!.test(value);
    case "!~":
      return !matcher.regex!.test(value);
  }
}

/** True when every matcher matches (no matchers match everything). */
export function matchesAll(matchers: readonly Matcher[], labels: Readonly<Record<string, string>>): boolean {
  return matchers.every((m) => matchOne(m, labels));
}
