import type { ChatCompletion } from '../../llm/chat-types.js';
import type { TokenUsage } from '../../llm/pricing.js';

/** Fills what some upstreams leave out, so every response matches OpenAI's schema. */
export function normaliseCompletion(completion: ChatCompletion, model: string): ChatCompletion {
  completion.model = model;
  completion.object = 'chat.completion';
  if (typeof completion.created !== 'number') completion.created = Math.floor(Date.now() / 1000);
  for (const choice of completion.choices) {
    if (choice.logprobs === undefined) choice.logprobs = null;
    if (choice.finish_reason === undefined) choice.finish_reason = null;
    const message = choice.message ?? { role: 'assistant', content: null };
    if (message.content === undefined) message.content = null;
    if (message.refusal === undefined) message.refusal = null;
    choice.message = message;
  }
  return completion;
}

/** OpenAI's usage object for the figures that were metered. */
export function usageObject(usage: TokenUsage) {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedTokens },
    completion_tokens_details: { reasoning_tokens: usage.reasoningTokens },
  };
}

/** Everything the answer said, for counting it when the upstream did not: texts and tool calls of every choice. */
export function completionText(completion: ChatCompletion): string {
  let out = '';
  for (const choice of completion.choices) {
    const message = choice.message;
    if (typeof message?.content === 'string') out += message.content;
    if (message?.tool_calls) out += JSON.stringify(message.tool_calls);
  }
  return out;
}
