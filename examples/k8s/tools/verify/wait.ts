// Waiting on an observable condition with a bound, saying what is awaited and what was last seen.

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
}

/**
 * Polls `probe` until it returns a value other than undefined. Every 15 s it prints what it is waiting for and what
 * `seen` reports; past the timeout it throws with the same.
 */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  seen: () => string = () => 'nothing yet',
  { timeoutMs = 120_000, intervalMs = 200 }: WaitOptions = {},
): Promise<T> {
  const start = Date.now();
  let lastReport = start;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      lastError = e;
    }
    const now = Date.now();
    const detail = () => `${seen()}${lastError === undefined ? '' : ` (last error: ${String(lastError)})`}`;
    if (now - start > timeoutMs) {
      throw new Error(
        `timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}; saw: ${detail()}`,
      );
    }
    if (now - lastReport >= 15_000) {
      lastReport = now;
      console.log(`  … still waiting for ${what} (${Math.round((now - start) / 1000)} s); saw: ${detail()}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
