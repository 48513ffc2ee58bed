/**
 * Bounded waits on a condition, instead of sleeps: resolves as soon as the
 * condition holds, fails with the last observed value when time runs out.
 */
export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  description?: string;
  /** An error of the probe that ends the wait at once (the thing waited for can no longer happen). */
  rethrow?: (err: unknown) => boolean;
}

export async function waitFor<T>(
  probe: () => T | Promise<T>,
  accept: (value: T) => boolean,
  { timeoutMs = 15_000, intervalMs = 25, description = 'condition', rethrow }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await probe();
      if (accept(last)) return last;
    } catch (err) {
      if (rethrow?.(err)) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const seen = lastError ? `error ${String(lastError)}` : `last value ${JSON.stringify(last)}`;
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description} (${seen})`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
