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

/**
 * Durations as OpenAI writes them (Go's notation): `250ms`, `1.5s`, `6m0s`, `1m0.5s`. Exact to the
 * millisecond, rounded up, so that a client waiting that long is never early.
 */
export function formatDuration(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole < 1000) return `${whole}ms`;
  if (whole < 60_000) return `${whole / 1000}s`;
  const minutes = Math.floor(whole / 60_000);
  return `${minutes}m${(whole - minutes * 60_000) / 1000}s`;
}

/** How a limit's scope reads in a refusal. */
export function scopeName(scope: string): string {
  return scope === 'key' ? 'API key' : scope === 'ip' ? 'client IP' : 'user';
}
