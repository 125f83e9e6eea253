import type { Verdict } from "../analysis/index.js";

type Listener = (releaseId: string, verdict: Verdict) => void;

/** The latest verdict of each watched release, and who follows them (`engineroom watch`, `deploy --watch`). */
export class AnalysisLog {
  static readonly kept = 200;
  #last = new Map<string, Verdict>();
  #listeners = new Set<Listener>();
  #watches = new Map<string, Promise<unknown>>();

  /** Records a verdict and tells every listener. */
  verdict(releaseId: string, verdict: Verdict): void {
    this.#last.delete(releaseId);
    this.#last.set(releaseId, verdict);
    if (this.#last.size > AnalysisLog.kept) this.#last.delete(this.#last.keys().next().value!);
    for (const listener of this.#listeners) listener(releaseId, verdict);
  }

  last(releaseId: string): Verdict | undefined {
    return this.#last.get(releaseId);
  }

  /** Notes the watch of a release; `ended` resolves when it does. */
  watching(releaseId: string, done: Promise<unknown>): void {
    this.#watches.set(releaseId, done);
    void done.finally(() => this.#watches.get(releaseId) === done && this.#watches.delete(releaseId)).catch(() => {});
  }

  /** Resolves when the release's watch ends (verdict acted on), or at once if it is not watched. */
  ended(releaseId: string): Promise<void> {
    return (this.#watches.get(releaseId) ?? Promise.resolve()).then(
      () => undefined,
      () => undefined,
    );
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }
}
