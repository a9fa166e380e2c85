import { DomainError } from '../../common/errors/domain-error.js';
import type { ChatMessage } from '../../llm/chat-types.js';

export interface PromptItem {
  message: ChatMessage;
  tokens: number;
}

export interface FittedPrompt {
  messages: ChatMessage[];
  /** The items kept, in prompt order (their token counts sum to the prompt's). */
  items: PromptItem[];
  /** History messages left out because they did not fit. */
  dropped: number;
}

/**
 * Builds the prompt of a continued conversation: system messages first, then as much of the
 * stored history as fits, newest turns kept, then the new messages. History is dropped a whole
 * turn at a time (a user message and everything after it until the next one), so a tool call
 * is never separated from its result. The new messages and the system prompt always stay: if
 * they alone do not fit, the request is refused before any upstream call.
 */
export function fitContext(system: PromptItem[], history: PromptItem[], fresh: PromptItem[], budget: number, extraTokens = 0): FittedPrompt {
  const mandatory = sum(system) + sum(fresh) + extraTokens;
  if (mandatory > budget) {
    throw new DomainError(
      'invalid',
      `This conversation's new messages and system prompt need ${mandatory} tokens, more than the ${budget} this model allows for input. Please reduce the length of the messages.`,
      { param: 'messages', code: 'context_length_exceeded' },
    );
  }
  const turns: PromptItem[][] = [];
  for (const item of history) {
    if (item.message.role === 'user' || turns.length === 0) turns.push([]);
    turns.at(-1)!.push(item);
  }
  let room = budget - mandatory;
  const kept: PromptItem[][] = [];
  for (let i = turns.length - 1; i >= 0; i--) {
    const size = sum(turns[i]);
    if (size > room) break;
    room -= size;
    kept.unshift(turns[i]);
  }
  const keptHistory = kept.flat();
  const items = [...system, ...keptHistory, ...fresh];
  return {
    messages: items.map((i) => i.message),
    items,
    dropped: history.length - keptHistory.length,
  };
}

function sum(items: PromptItem[]): number {
  return items.reduce((n, i) => n + i.tokens, 0);
}
