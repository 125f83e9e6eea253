/**
 * Keeps secret values out of everything the engine writes. Secret providers register each value they
 * hand out; every log line, event, API answer and error message passes through `redact()` on its way
 * out, and every known value is replaced by `[REDACTED:<name>]`.
 *
 * A value is looked for in every form it can take in an output:
 * - as it is;
 * - JSON-escaped (`"` → `\"`, `\` → `\\`, a newline → `\n`), as it shows inside JSON text;
 * - line by line, for a value of several lines (a PEM key): each line of `redactMinLength` or more
 *   characters, as it is and JSON-escaped;
 * - cut short: a prefix of any of those forms, of `redactMinPrefix` characters or more, that ends the
 *   text or is followed by a closing quote (`"`, `'`, `\"`) or an ellipsis (`…`, `...`), which is how
 *   truncated quotes look ("it starts "…<first characters of the secret>"").
 *
 * Values shorter than `redactMinLength` characters are not redacted: masking every "abc" would
 * garble output and still tell which one was the secret. `add` answers false for them, so the code
 * that registers a value can refuse it or warn about it.
 */

/** A value shorter than this is not redacted (it is too short to mask safely). */
const redactMinLength = 4;
/**
 * A prefix of a value is redacted at a truncation point only from this many characters on. Shorter
 * prefixes are ordinary words too often ("admin" of "admin-password-2024" ending a log line, or as a
 * quoted JSON value), and leak little of a value of some length.
 */
const redactMinPrefix = 6;

/** One way a secret can appear in output. */
interface Form {
  text: string;
  name: string;
}

interface Compiled {
  /** Every form, longest first, then every form's first `redactMinPrefix` characters (a head). */
  pattern: RegExp;
  /** Full forms by text. */
  full: Map<string, string>;
  /** Forms by their head, longest first, for prefixes cut at a truncation point. */
  byHead: Map<string, Form[]>;
}

export class Redactor {
  /** A value shorter than this is not redacted; see `redactMinLength`. */
  static readonly minLength = redactMinLength;
  /** The shortest prefix redacted at a truncation point; see `redactMinPrefix`. */
  static readonly minPrefix = redactMinPrefix;

  #secrets = new Map<string, string>(); // value -> name
  #compiled: Compiled | undefined;

  /**
   * Registers a secret value under its name. Answers false, and registers nothing, for a value
   * shorter than `redactMinLength` characters, which cannot be redacted safely.
   */
  add(name: string, value: string): boolean {
    if (value.length < redactMinLength) return false;
    if (this.#secrets.get(value) === name) return true;
    this.#secrets.set(value, name);
    this.#compiled = undefined;
    return true;
  }

  /** The registered secrets as [name, value] pairs, to hand to a process that must redact the same values (an instance's log shim). Never print them. */
  entries(): Array<[name: string, value: string]> {
    return [...this.#secrets].map(([value, name]) => [name, value]);
  }

  get size(): number {
    return this.#secrets.size;
  }

  redact(text: string): string {
    if (this.#secrets.size === 0 || text.length < redactMinLength) return text;
    const { pattern, full, byHead } = (this.#compiled ??= compile(this.#secrets));
    pattern.lastIndex = 0;
    let out = "";
    let copied = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
      const start = match.index;
      const found = match[0];
      let end = start + found.length;
      let name = full.get(found);
      if (name !== undefined) {
        // A short value can be the start of a longer one cut at this point: take the longer.
        const longer = found.length >= redactMinPrefix ? byHead.get(found.slice(0, redactMinPrefix)) : undefined;
        const cut = longer && truncatedPrefix(text, start, longer);
        if (cut && cut.end > end) [end, name] = [cut.end, cut.name];
      } else {
        // Only a head matched here: redact it with what follows if that is a prefix of a form cut at a truncation point.
        const cut = truncatedPrefix(text, start, byHead.get(found)!);
        if (!cut) {
          pattern.lastIndex = start + 1;
          continue;
        }
        [end, name] = [cut.end, cut.name];
      }
      pattern.lastIndex = end;
      out += `${text.slice(copied, start)}[REDACTED:${name}]`;
      copied = end;
    }
    return copied === 0 ? text : out + text.slice(copied);
  }

  /** Redacts every string inside a JSON-like value (keys too), returning a copy. */
  redactDeep<T>(value: T): T {
    if (this.#secrets.size === 0) return value;
    const json = JSON.stringify(value) as string | undefined;
    if (json === undefined) return value;
    // Every form a string can hold shows in its JSON text as a JSON-escaped form (or a prefix of one
    // before a quote), so one pass over the whole text tells whether any string needs redacting:
    // most answers hold no secret and cost no more than a copy.
    if (this.redact(json) === json) return JSON.parse(json) as T;
    // String by string, not on the text: a value holding `","` would otherwise cut across strings.
    return JSON.parse(json, (_key, inner: unknown) => {
      if (typeof inner === "string") return this.redact(inner);
      if (inner && typeof inner === "object" && !Array.isArray(inner)) return redactKeys(inner as Record<string, unknown>, this);
      return inner;
    }) as T;
  }
}

function redactKeys(object: Record<string, unknown>, redactor: Redactor): Record<string, unknown> {
  const keys = Object.keys(object);
  if (keys.every((key) => redactor.redact(key) === key)) return object;
  // fromEntries defines own properties, so a key such as "__proto__" stays a key.
  return Object.fromEntries(keys.map((key) => [redactor.redact(key), object[key]]));
}

/** The forms of every value (see the class's comment), and the pattern that finds them. */
function compile(secrets: ReadonlyMap<string, string>): Compiled {
  const full = new Map<string, string>();
  const put = (text: string, name: string) => {
    if (text.length >= redactMinLength && !full.has(text)) full.set(text, name);
  };
  for (const [value, name] of secrets) {
    put(value, name);
    put(jsonEscaped(value), name);
    if (/[\r\n]/.test(value)) {
      for (const line of value.split(/\r?\n|\r/)) {
        put(line, name);
        put(jsonEscaped(line), name);
      }
    }
  }
  const forms = [...full].map(([text, name]) => ({ text, name })).sort((a, b) => b.text.length - a.text.length);
  const byHead = new Map<string, Form[]>();
  for (const form of forms) {
    if (form.text.length <= redactMinPrefix) continue; // all of it is the full form
    const head = form.text.slice(0, redactMinPrefix);
    const list = byHead.get(head) ?? [];
    list.push(form);
    byHead.set(head, list);
  }
  // Heads come after every full form so that, at one position, a whole value wins over its head.
  const alternatives = [...forms.map((f) => f.text), ...[...byHead.keys()].filter((head) => !full.has(head))];
  return { pattern: new RegExp(alternatives.map(escapeRegExp).join("|"), "g"), full, byHead };
}

/**
 * The longest prefix of one of `forms` that starts at `start` in `text`, has `redactMinPrefix`
 * characters or more, and ends at a truncation point: the end of the text, a closing quote or an
 * ellipsis. A prefix followed by anything else is ordinary text that happens to start like a secret.
 */
function truncatedPrefix(text: string, start: number, forms: readonly Form[]): { end: number; name: string } | undefined {
  let best: { end: number; name: string } | undefined;
  for (const form of forms) {
    let length = redactMinPrefix;
    const most = Math.min(form.text.length, text.length - start);
    while (length < most && text.charCodeAt(start + length) === form.text.charCodeAt(length)) length++;
    if (length >= form.text.length) continue; // the whole form would have matched as such
    const end = start + length;
    if ((!best || end > best.end) && isTruncationPoint(text, end)) best = { end, name: form.name };
  }
  return best;
}

function isTruncationPoint(text: string, at: number): boolean {
  if (at === text.length) return true;
  const next = text[at];
  return next === '"' || next === "'" || next === "…" || text.startsWith("\\\"", at) || text.startsWith("...", at);
}

function jsonEscaped(value: string): string {
  return JSON.stringify(value).slice(1, -1);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The process-wide redactor. */
export const redactor = new Redactor();
