import type { ChunkSink } from '../../common/streaming/chunk-sink.js';

interface StreamChunk {
  id?: string;
  object?: string;
  choices?: Array<{ delta?: { tool_calls?: Array<{ index?: number }> } }>;
}

/**
 * The sink of a /chat turn that may take several upstream rounds (server tools): it opens the
 * client's stream once, gives every chunk the first round's id, and numbers tool calls on from
 * the previous rounds', so that a client accumulating the stream (the OpenAI SDKs) sees one
 * answer whose tool calls do not overwrite each other.
 */
export class TurnSink implements ChunkSink {
  private opened = false;
  private id: string | null = null;
  private offset = 0;
  private nextIndex = 0;

  constructor(private readonly inner: ChunkSink) {}

  /** The id every chunk of the turn carries (the first round's). */
  get chunkId(): string | null {
    return this.id;
  }

  get isOpen(): boolean {
    return this.opened;
  }

  /** Tool calls of the next round are numbered after this one's. */
  nextRound(): void {
    this.offset = this.nextIndex;
  }

  open(headers: Record<string, string>): void {
    if (this.opened) return;
    this.opened = true;
    this.inner.open(headers);
  }

  send(data: unknown): Promise<void> {
    const chunk = data as StreamChunk;
    if (chunk?.object === 'chat.completion.chunk') {
      this.id ??= chunk.id ?? null;
      if (this.id) chunk.id = this.id;
      for (const choice of chunk.choices ?? []) {
        for (const call of choice.delta?.tool_calls ?? []) {
          call.index = (call.index ?? 0) + this.offset;
          this.nextIndex = Math.max(this.nextIndex, call.index + 1);
        }
      }
    }
    return this.inner.send(data);
  }

  fail(error: unknown): Promise<void> {
    return this.inner.fail(error);
  }

  end(): void {
    this.inner.end();
  }

  get clientGone(): boolean {
    return this.inner.clientGone;
  }

  onClientGone(listener: () => void): void {
    this.inner.onClientGone(listener);
  }

  onClose(listener: () => void): void {
    this.inner.onClose(listener);
  }
}
