import type { ChatChunk, ToolCall } from '../../llm/chat-types.js';

/** Collects what a stream says (text, tool calls, usage) and rewrites chunks for the client. */
export class StreamAccumulator {
  text = '';
  finishReason: string | null = null;
  /** The usage object the upstream sent, unchecked. */
  usage: unknown = null;
  /** The text of the choices after the first (n > 1). */
  otherText = '';
  id = '';
  created = Math.floor(Date.now() / 1000);
  private readonly calls = new Map<number, ToolCall>();

  constructor(private readonly responseModel: string) {}

  /** The chunk to forward, or null for a usage-only chunk (the caller sends its own last). */
  take(chunk: ChatChunk): ChatChunk | null {
    if (!this.id && chunk.id) {
      this.id = chunk.id;
      if (typeof chunk.created === 'number') this.created = chunk.created;
    }
    if (chunk.usage) this.usage = chunk.usage;
    if (!chunk.choices?.length) return null;
    for (const choice of chunk.choices) {
      if (choice.index !== 0 && choice.index !== undefined) {
        // Other choices (n > 1) are relayed as they come; only their size matters here.
        if (typeof choice.delta?.content === 'string') this.otherText += choice.delta.content;
        continue;
      }
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string') this.text += delta.content;
      if (Array.isArray(delta.tool_calls)) this.addToolCalls(delta.tool_calls as PartialToolCall[]);
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
    }
    // The chunk is ours (parsed for this call): rewritten in place rather than copied, per chunk.
    chunk.model = this.responseModel;
    if (chunk.usage !== undefined) delete chunk.usage;
    for (const choice of chunk.choices) if (choice.logprobs === undefined) choice.logprobs = null;
    return chunk;
  }

  /** The calls in index order, as the client's SDK assembles them from the same chunks. */
  toolCalls(): ToolCall[] | null {
    return this.calls.size ? [...this.calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call) : null;
  }

  private addToolCalls(deltas: PartialToolCall[]): void {
    for (const d of deltas) {
      const index = d.index ?? 0;
      const call = this.calls.get(index) ?? { id: '', type: 'function' as const, function: { name: '', arguments: '' } };
      if (d.id) call.id = d.id;
      // Only the arguments come in fragments; a name is given whole (some upstreams repeat it in
      // every fragment), so it replaces rather than appends, as OpenAI's SDK does.
      if (d.function?.name) call.function.name = d.function.name;
      if (d.function?.arguments) call.function.arguments += d.function.arguments;
      this.calls.set(index, call);
    }
  }
}

interface PartialToolCall {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}
