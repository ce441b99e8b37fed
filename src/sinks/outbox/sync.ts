/** Small async coordination primitives for the outbox and the delivery loop. */

/**
 * A FIFO async mutex.
 *
 * @example
 * const release = await mutex.acquire();
 * try { … } finally { release(); }
 */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();

  acquire(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const prev = this.tail;
    this.tail = prev.then(() => next);
    let done = false;
    return prev.then(() => () => {
      if (done) return;
      done = true;
      release();
    });
  }
}

/**
 * A broadcast wake-up: `wait()` resolves at the next `notify()`.
 *
 * @example
 * const changed = new Signal();
 * await Promise.race([changed.wait(), sleep(1000)]);
 */
export class Signal {
  private waiters: Array<() => void> = [];

  wait(): Promise<void> {
    return new Promise((r) => this.waiters.push(r));
  }

  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}

/**
 * Resolves after `ms`, or early (without error) when `signal` aborts.
 *
 * @example
 * await sleep(1000, controller.signal);
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
