import type { Usage } from './chat-types.js';
import { MICROS_PER_USD, microsToUsd } from '../common/money.js';

/** USD per 1M tokens, as the catalog states them. */
export interface Pricing {
  input: number;
  output: number;
  cachedInput: number;
  /** USD per generated image (image models). */
  perImage: number;
  /** USD per 1M audio tokens in the prompt and in the answer (audio models); default: input and output. */
  audioInput?: number;
  audioOutput?: number;
}

export const FREE: Pricing = { input: 0, output: 0, cachedInput: 0, perImage: 0 };

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  /** Audio tokens within the prompt and completion figures (billed at the audio rates). */
  audioPromptTokens?: number;
  audioCompletionTokens?: number;
}

export const NO_TOKENS: Readonly<TokenUsage> = { promptTokens: 0, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0 };

/**
 * Cost in integer micro-dollars. A price in USD per 1M tokens is exactly micro-dollars per token,
 * so this is a weighted token count, rounded once per call. Cached prompt tokens are billed at
 * the cached rate; reasoning tokens are already part of the completion tokens.
 */
export function costMicros(pricing: Pricing, usage: TokenUsage): number {
  const cached = Math.min(usage.cachedTokens, usage.promptTokens);
  const audioIn = Math.min(usage.audioPromptTokens ?? 0, usage.promptTokens - cached);
  const audioOut = Math.min(usage.audioCompletionTokens ?? 0, usage.completionTokens);
  const micros =
    (usage.promptTokens - cached - audioIn) * pricing.input +
    cached * pricing.cachedInput +
    audioIn * (pricing.audioInput ?? pricing.input) +
    (usage.completionTokens - audioOut) * pricing.output +
    audioOut * (pricing.audioOutput ?? pricing.output);
  return Math.round(micros);
}

/**
 * The most a call may cost: its prompt bound at the dearest input rate and its output bound at
 * the dearest output rate (a prompt's audio, an answer's audio, are not known beforehand).
 */
export function worstCaseMicros(pricing: Pricing, promptTokens: number, completionTokens: number): number {
  const input = Math.max(pricing.input, pricing.audioInput ?? 0);
  const output = Math.max(pricing.output, pricing.audioOutput ?? 0);
  return Math.round(promptTokens * input + completionTokens * output);
}

/** An image call's cost: its tokens (when the upstream counts them) plus the price per image. */
export function imageCostMicros(pricing: Pricing, usage: TokenUsage, images: number): number {
  return costMicros(pricing, usage) + Math.round(images * pricing.perImage * MICROS_PER_USD);
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

/** What an upstream may sensibly report for a call: it cannot have read or written more than this. */
export interface UsageBounds {
  maxPromptTokens: number;
  maxCompletionTokens: number;
}

/**
 * The token kinds of an upstream's OpenAI usage object, or null when a figure is not a
 * non-negative integer within the call's bounds (a string, NaN, a negative "refund", a count
 * past the context window): the caller then meters its own count instead. Missing details are zero.
 */
export function readUsage(usage: unknown, bounds: UsageBounds): TokenUsage | null {
  if (!usage || typeof usage !== 'object') return null;
  const u = usage as Usage;
  const prompt = figure(u.prompt_tokens, bounds.maxPromptTokens);
  const completion = figure(u.completion_tokens, bounds.maxCompletionTokens);
  const cached = figure(u.prompt_tokens_details?.cached_tokens ?? 0, prompt ?? 0);
  const reasoning = figure(u.completion_tokens_details?.reasoning_tokens ?? 0, completion ?? 0);
  const audioIn = figure(u.prompt_tokens_details?.audio_tokens ?? 0, prompt ?? 0);
  const audioOut = figure(u.completion_tokens_details?.audio_tokens ?? 0, completion ?? 0);
  if (prompt === null || completion === null || cached === null || reasoning === null || audioIn === null || audioOut === null) return null;
  return {
    promptTokens: prompt,
    completionTokens: completion,
    cachedTokens: cached,
    reasoningTokens: reasoning,
    ...(audioIn ? { audioPromptTokens: audioIn } : {}),
    ...(audioOut ? { audioCompletionTokens: audioOut } : {}),
  };
}

/** A non-negative integer no greater than `max`, else null. */
export function figure(value: unknown, max: number): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= max ? value : null;
}
