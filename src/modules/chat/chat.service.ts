import { Injectable } from '@nestjs/common';
import type { Caller } from '../../common/http/caller.js';
import { answer, clientLeft, STREAMED, type Answer, type CallSession } from '../../common/streaming/answer.js';
import type { ChunkSink } from '../../common/streaming/chunk-sink.js';
import type { ChatCompletion } from '../../llm/chat-types.js';
import { microsToUsd } from '../../common/money.js';
import type { Admission } from '../../metering/metering.service.js';
import { Metering } from '../../metering/metering.service.js';
import { CompletionRunner, type ChatRun } from '../completions/completion-runner.js';
import type { ChatBody } from './chat.schemas.js';
import { ChatExchanges } from './chat-exchanges.js';
import { ChatTurns, type Turn } from './chat-turns.js';

/** What POST /chat answers without streaming. */
export type ChatAnswer = ChatCompletion & { conversation_id: string; session_id: string; cost: number };

/**
 * A conversation turn, on any transport (POST /chat, a WebSocket turn, a background job): the
 * turn is prepared from the stored history, admitted against the caller's limits and budgets,
 * run (streamed into the session's sink when asked), metered and stored (the usage record with
 * the messages, in one commit; alone should storing fail). The same body gives the same stored messages, records and errors whichever
 * way it came.
 */
@Injectable()
export class ChatService {
  constructor(
    private readonly turns: ChatTurns,
    private readonly exchanges: ChatExchanges,
    private readonly runner: CompletionRunner,
    private readonly metering: Metering,
  ) {}

  async chat(caller: Caller, body: ChatBody, session: CallSession): Promise<Answer<ChatAnswer>> {
    const turn = await this.turns.prepare(caller, body);
    const admission = await this.metering.admit(caller, turn.call, { requestId: session.requestId, endpoint: session.endpoint, endUser: body.user });
    const headers = { ...admission.headers, 'x-conversation-id': turn.conversationId, 'x-session-id': turn.sessionId };
    if (body.stream && session.sink) return this.streamed(turn, admission, session.sink, session.signal, headers);

    const run = await this.runner.runBlocking(turn.call, session.signal);
    const cost = await this.settleAndStore(turn, run, admission);
    if (run.outcome.error) throw run.outcome.error;
    if (!run.completion) throw clientLeft();
    return answer({ ...run.completion, conversation_id: turn.conversationId, session_id: turn.sessionId, cost: microsToUsd(cost) }, headers);
  }

  private async streamed(
    turn: Turn,
    admission: Admission,
    sink: ChunkSink,
    signal: AbortSignal,
    headers: Record<string, string>,
  ): Promise<Answer<ChatAnswer>> {
    const run = await this.runner.runStreaming(turn.call, sink, signal, headers);
    let cost: number;
    try {
      cost = await this.settleAndStore(turn, run, admission);
    } catch (err) {
      // The answer has been streamed (and metered): the client learns in-band that it was not stored.
      if (!run.streamed) throw err;
      await sink.fail(err);
      sink.end();
      return STREAMED;
    }
    if (!run.streamed) throw run.outcome.error ?? clientLeft();
    if (run.outcome.status === 'ok') {
      await sink.send({
        ...this.runner.usageChunk(run, turn.call),
        conversation_id: turn.conversationId,
        session_id: turn.sessionId,
        cost: microsToUsd(cost),
      });
    }
    sink.end();
    return STREAMED;
  }

  /** The usage record and the exchange in one commit; should storing fail, the record is written alone and the failure thrown. */
  private async settleAndStore(turn: Turn, run: ChatRun, admission: Admission): Promise<number> {
    const links = { conversationId: turn.thread ? turn.conversationId : null, sessionId: turn.sessionId };
    const { costMicros, storeError } = await admission.settle(run.outcome, { links, storeWith: (record) => this.exchanges.store(turn, run, record) });
    if (storeError !== undefined) throw storeError;
    return costMicros;
  }
}
