/** A pending deadline; `cancel` once the operation it bounds settled. */
export interface Deadline {
  cancel(): void;
}

interface Entry {
  readonly expiresAt: number;
  readonly expire: () => void;
}

/**
 * Many short deadlines on one timer. A request would otherwise arm and clear a timer (or an
 * AbortSignal) per database or cache call; one sweep every `resolutionMs` costs nothing per call
 * beyond a Set insert, at the price of firing up to `resolutionMs` late.
 */
export class Deadlines {
  private readonly pending = new Set<Entry>();
  private sweeper: NodeJS.Timeout | undefined;

  constructor(private readonly resolutionMs: number) {}

  /** Calls `expire` once, `ms` to `ms + resolutionMs` from now, unless cancelled first. */
  add(ms: number, expire: () => void): Deadline {
    const entry = { expiresAt: Date.now() + ms, expire };
    this.pending.add(entry);
    this.sweeper ??= setInterval(() => this.sweep(), this.resolutionMs).unref();
    return { cancel: () => this.pending.delete(entry) };
  }

  /** `operation`, or a rejection once `ms` passed (after calling `onExpire`); the operation is not cancelled. */
  within<T>(operation: Promise<T>, ms: number, onExpire?: () => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const deadline = this.add(ms, () => {
        onExpire?.();
        reject(new Error(`timed out after ${ms} ms`));
      });
      operation.then(
        (value) => {
          deadline.cancel();
          resolve(value);
        },
        (error: unknown) => {
          deadline.cancel();
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }

  private sweep(): void {
    const now = Date.now();
    for (const entry of this.pending) {
      if (entry.expiresAt > now) continue;
      this.pending.delete(entry);
      entry.expire();
    }
    if (this.pending.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }
}
