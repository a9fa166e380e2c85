/** Exponential backoff with full jitter, bounded, honouring the upstream's retry-after. */
export const BACKOFF_BASE_MS = 250;
export const BACKOFF_MAX_MS = 8_000;
/** A retry-after longer than this is not waited for: the client gets the 429 (or a fallback runs). */
export const RETRY_AFTER_MAX_MS = 30_000;

export function backoffMs(attempt: number, retryAfterMs: number | undefined, random: () => number = Math.random): number | null {
  if (retryAfterMs !== undefined) return retryAfterMs > RETRY_AFTER_MAX_MS ? null : retryAfterMs;
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/** Sleeps, or rejects at once when the signal aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
