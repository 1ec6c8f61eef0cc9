// A wake-up signal for the in-memory clients' loops: a wake before the wait is not lost.

export class Signal {
  private woken = false;
  private waiter: (() => void) | undefined;

  wake(): void {
    this.woken = true;
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Resolves at the next wake, or at once if one happened since the last wait returned. */
  wait(): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiter = () => {
        this.woken = false;
        resolve();
      };
    });
  }
}

/** Resolves after the current macrotask: lets timers and I/O of the process run between steps. */
export function nextMacrotask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
