/**
 * Keeps secret values out of everything the engine writes. Secret providers register each value they
 * hand out; every log line, event, API answer and error message passes through `redact()` on its way
 * out, and every known value is replaced by `[REDACTED:<name>]`.
 */
export class Redactor {
  #secrets = new Map<string, string>(); // value -> name
  #pattern: RegExp | undefined;

  /** Registers a secret value under its name. Values shorter than 4 characters are not matched, to keep output readable. */
  add(name: string, value: string): void {
    if (value.length < 4 || this.#secrets.get(value) === name) return;
    this.#secrets.set(value, name);
    this.#pattern = undefined;
  }

  /** The registered secrets as [name, value] pairs, to hand to a process that must redact the same values (an instance's log shim). Never print them. */
  entries(): Array<[name: string, value: string]> {
    return [...this.#secrets].map(([value, name]) => [name, value]);
  }

  get size(): number {
    return this.#secrets.size;
  }

  redact(text: string): string {
    if (this.#secrets.size === 0 || text.length === 0) return text;
    this.#pattern ??= new RegExp(
      [...this.#secrets.keys()]
        .sort((a, b) => b.length - a.length)
        .map((v) => v.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
        .join("|"),
      "g",
    );
    return text.replace(this.#pattern, (value) => `[REDACTED:${this.#secrets.get(value)}]`);
  }

  /** Redacts every string inside a JSON-like value, returning a copy. */
  redactDeep<T>(value: T): T {
    if (this.#secrets.size === 0) return value;
    return JSON.parse(this.redact(JSON.stringify(value))) as T;
  }
}

/** The process-wide redactor. */
export const redactor = new Redactor();
