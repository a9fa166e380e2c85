import type { WindowState } from './rate-limit-store.js';

/** OpenAI's rate-limit headers for one kind (`requests` or `tokens`), from the windows charged. */
export function rateLimitHeaders(kind: 'requests' | 'tokens', states: WindowState[]): Record<string, string> {
  if (!states.length) return {};
  // The binding window is the one with the least room left.
  const binding = states.reduce((a, b) => (b.limit - b.used < a.limit - a.used ? b : a));
  return {
    [`x-ratelimit-limit-${kind}`]: String(binding.limit),
    [`x-ratelimit-remaining-${kind}`]: String(Math.max(0, binding.limit - binding.used)),
    [`x-ratelimit-reset-${kind}`]: formatDuration(binding.resetMs),
  };
}

/** Durations as OpenAI writes them: `250ms`, `1.5s`, `6m0s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${Number((ms / 1000).toFixed(3))}s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m${Math.round((ms - minutes * 60_000) / 1000)}s`;
}
