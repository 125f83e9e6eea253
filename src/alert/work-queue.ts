/**
 * Background work run one task at a time, in the order queued: the manager's store writes, so that
 * what it decided synchronously reaches the store in the same order, without anyone waiting.
 */
export class WorkQueue {
  #tail: Promise<void> = Promise.resolve();
  readonly #onError: ((error: unknown) => void) | undefined;

  constructor(onError?: (error: unknown) => void) {
    this.#onError = onError;
  }

  /** Queues a task; a task that fails is reported and the next one runs. */
  push(task: () => Promise<unknown>): void {
    this.#tail = this.#tail.then(task).then(
      () => undefined,
      (error: unknown) => this.#onError?.(error),
    );
  }

  /** Resolves once every task queued so far has run (tasks queued meanwhile included). */
  async idle(): Promise<void> {
    let tail: Promise<void>;
    do {
      tail = this.#tail;
      await tail;
    } while (tail !== this.#tail);
  }
}
