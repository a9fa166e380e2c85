import type { Usage } from './chat-types.js';

/** USD per 1M tokens, as the catalog states them. */
export interface Pricing {
  input: number;
  output: number;
  cachedInput: number;
  /** USD per generated image (image models). */
  perImage: number;
}

export const FREE: Pricing = { input: 0, output: 0, cachedInput: 0, perImage: 0 };

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
}

export const NO_TOKENS: Readonly<TokenUsage> = { promptTokens: 0, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0 };

/**
 * Cost in integer micro-dollars. A price in USD per 1M tokens is exactly micro-dollars per token,
 * so this is a weighted token count, rounded once per call. Cached prompt tokens are billed at
 * the cached rate; reasoning tokens are already part of the completion tokens.
 */
export function costMicros(pricing: Pricing, usage: TokenUsage): number {
  const cached = Math.min(usage.cachedTokens, usage.promptTokens);
  const micros =
    (usage.promptTokens - cached) * pricing.input + cached * pricing.cachedInput + usage.completionTokens * pricing.output;
  return Math.round(micros);
}

/** An image call's cost: its tokens (when the upstream counts them) plus the price per image. */
export function imageCostMicros(pricing: Pricing, usage: TokenUsage, images: number): number {
  return costMicros(pricing, usage) + Math.round(images * pricing.perImage * 1_000_000);
}

/** Running totals as every view shows them: the token kinds, their sum, and the cost in USD. */
export function spendView(t: { promptTokens: number | bigint; completionTokens: number | bigint; costMicros: number | bigint }): {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_usd: number;
} {
  const prompt = Number(t.promptTokens);
  const completion = Number(t.completionTokens);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, cost_usd: microsToUsd(Number(t.costMicros)) };
}

export function microsToUsd(micros: number): number {
  return micros / 1_000_000;
}

/** The token kinds of an OpenAI usage object, with missing details as zero. */
export function tokenUsage(usage: Usage): TokenUsage {
  return {
    promptTokens: usage.prompt_tokens ?? 0,
    completionTokens: usage.completion_tokens ?? 0,
    cachedTokens: usage.prompt_tokens_details?.cached_tokens ?? 0,
    reasoningTokens: usage.completion_tokens_details?.reasoning_tokens ?? 0,
  };
}
