import { Injectable } from '@nestjs/common';
import type { Caller } from '../../common/http/caller.js';
import { microsToUsd } from '../../common/money.js';
import { answer, clientLeft, STREAMED, type Answer, type CallSession } from '../../common/streaming/answer.js';
import { AppConfig } from '../../config/app-config.js';
import type { ChatChunk, ChatCompletion, ChatMessage, ToolCall } from '../../llm/chat-types.js';
import type { TokenUsage } from '../../llm/pricing.js';
import type { CallContext } from '../../metering/call.js';
import type { StoredEntry } from '../../metering/ledger/usage-recorder.service.js';
import { Metering, type Admission } from '../../metering/metering.service.js';
import { CompletionRunner, type ChatRun, type PreparedCall } from '../completions/completion-runner.js';
import { usageObject } from '../completions/completion-shapes.js';
import { ToolsService, type ExecutedCall } from '../tools/tools.service.js';
import type { ChatBody } from './chat.schemas.js';
import { ChatExchanges, type StoredRound } from './chat-exchanges.js';
import { ChatTurns, clientToolNames, type Turn } from './chat-turns.js';
import { TurnSink } from './turn-sink.js';

/** What the tool loop did, on the answer of a turn with server_tools. */
export interface ToolLoopReport {
  tool_rounds: number;
  tool_calls: Array<{ name: string; tool_call_id: string; duration_ms: number; is_error: boolean; preview: string }>;
  note?: string;
}

/** What POST /chat answers without streaming. */
export type ChatAnswer = ChatCompletion & {
  conversation_id: string;
  conversation_key?: string;
  chat_id?: string;
  session_id: string;
  cost: number;
  colloquy?: ToolLoopReport;
};

/** One upstream round of a turn: its call, what it did, its deferred usage record and cost. */
interface Round extends StoredRound {
  call: PreparedCall;
  entry: StoredEntry;
  costMicros: number;
}

/** How a turn's rounds ended. */
interface Rounds {
  rounds: Round[];
  /** The model's calls of the client's own tools in the last answer (they go back to the client). */
  clientCalls: ToolCall[];
  /** Why the loop stopped before the model answered (max_tool_rounds, a refusal between rounds). */
  note?: string;
  /** An error between rounds (a limit or budget refused the next one, the prompt outgrew the context, the client left). */
  failure?: Error;
}

/**
 * A conversation turn, on any transport (POST /chat, a WebSocket turn, a background job): the
 * turn is prepared from the stored history, admitted against the caller's limits and budgets,
 * run (streamed into the session's sink when asked), metered and stored: every usage record with
 * the messages, in one commit, or the records alone should storing fail. With server_tools the
 * model's calls of them are run here and the model asked again, each round admitted and metered
 * on its own. The same body gives the same stored messages, records and errors whichever way it came.
 */
@Injectable()
export class ChatService {
  constructor(
    private readonly turns: ChatTurns,
    private readonly exchanges: ChatExchanges,
    private readonly runner: CompletionRunner,
    private readonly metering: Metering,
    private readonly tools: ToolsService,
    private readonly config: AppConfig,
  ) {}

  async chat(caller: Caller, body: ChatBody, session: CallSession): Promise<Answer<ChatAnswer>> {
    const turn = await this.turns.prepare(caller, body);
    const context: CallContext = { requestId: session.requestId, endpoint: session.endpoint, endUser: turn.body.user };
    const admission = await this.metering.admit(caller, turn.call, context);
    const headers = { ...admission.headers, 'x-conversation-id': turn.conversationId, 'x-session-id': turn.sessionId };
    const sink = body.stream && session.sink ? new TurnSink(session.sink) : null;

    const result = await this.runRounds(turn, admission, context, session.signal, sink, headers);
    const cost = result.rounds.reduce((sum, r) => sum + r.costMicros, 0);
    const { storeError } = await this.metering.writeWith(
      result.rounds.map((r) => r.entry),
      (records) => this.exchanges.store(turn, result.rounds, records),
    );
    const last = result.rounds.at(-1)!;
    if (sink) return this.endStream(turn, result, sink, cost, storeError);

    if (storeError !== undefined) throw storeError;
    if (last.run.outcome.error) throw last.run.outcome.error;
    if (result.failure !== undefined) throw result.failure;
    if (!last.run.completion) throw clientLeft();
    const completion = finalCompletion(last.run.completion, result, totalUsage(result.rounds));
    const report = this.report(turn, result);
    return answer(
      {
        ...completion,
        conversation_id: turn.conversationId,
        ...(turn.key ? { conversation_key: turn.key } : {}),
        ...(turn.body.chat_id ? { chat_id: turn.body.chat_id } : {}),
        session_id: turn.sessionId,
        cost: microsToUsd(cost),
        ...(report ? { colloquy: report } : {}),
      },
      headers,
    );
  }

  /**
   * Calls the model, and while it asks for server tools (and max_tool_rounds allows), runs them
   * and calls it again with their results, admitting every round against the limits first.
   */
  private async runRounds(
    turn: Turn,
    first: Admission,
    context: CallContext,
    signal: AbortSignal,
    sink: TurnSink | null,
    headers: Record<string, string>,
  ): Promise<Rounds> {
    const links = { conversationId: turn.thread ? turn.conversationId : null, sessionId: turn.sessionId };
    const maxRounds = turn.body.max_tool_rounds ?? this.config.tools.maxRounds;
    const own = new Set(clientToolNames(turn.body));
    const rounds: Round[] = [];
    let call = turn.call;
    let admission = first;
    for (;;) {
      const run = sink ? await this.runner.runStreaming(call, sink, signal, headers) : await this.runner.runBlocking(call, signal);
      const { costMicros, entry } = await admission.settleDeferred(run.outcome, links);
      const round: Round = { call, run, entry, costMicros, executed: [] };
      rounds.push(round);
      const asked = run.outcome.status === 'ok' && turn.offered.length ? (run.toolCalls ?? []) : [];
      const serverCalls = asked.filter((c) => !own.has(c.function.name));
      const clientCalls = asked.filter((c) => own.has(c.function.name));
      if (!serverCalls.length) return { rounds, clientCalls };
      if (rounds.length > maxRounds) {
        round.finishReason = 'length';
        const note = `Stopped after ${maxRounds} round${maxRounds === 1 ? '' : 's'} of tool calls (max_tool_rounds): the model asked for more tools (${serverCalls.map((c) => c.function.name).join(', ')}), which were not run.`;
        return { rounds, clientCalls, note };
      }
      try {
        round.executed = await this.tools.runForModel(turn.caller, serverCalls, turn.offered, {
          requestId: context.requestId,
          conversationId: turn.conversationId,
          signal,
        });
      } catch (failure) {
        return { rounds, clientCalls, failure: asError(failure) };
      }
      if (sink) {
        for (const executed of round.executed) await sink.send(toolResultChunk(sink.chunkId ?? run.chunkId, run, call, executed));
        sink.nextRound();
      }
      if (clientCalls.length) return { rounds, clientCalls };
      try {
        call = await this.nextCall(call, run, round.executed);
        admission = await this.metering.admit(turn.caller, call, context);
      } catch (failure) {
        return { rounds, clientCalls, failure: asError(failure), note: 'The tool results were stored; the model was not asked again.' };
      }
    }
  }

  /** The next round's call: the same request with the answer's tool calls and their results appended. */
  private nextCall(call: PreparedCall, run: ChatRun, executed: readonly ExecutedCall[]): Promise<PreparedCall> {
    const messages: ChatMessage[] = [
      ...call.body.messages,
      { role: 'assistant', content: run.text || null, tool_calls: run.toolCalls ?? [] },
      ...executed.map((r): ChatMessage => ({ role: 'tool', tool_call_id: r.toolCallId, content: r.text })),
    ];
    return this.runner.prepare(call.model, { ...call.body, messages }, { responseModel: call.responseModel, extraTokens: call.extraTokens });
  }

  /** The stream's end: the usage of every round in one last chunk (or the error in-band), then [DONE]. */
  private async endStream(turn: Turn, result: Rounds, sink: TurnSink, cost: number, storeError: Error | undefined): Promise<Answer<ChatAnswer>> {
    const last = result.rounds.at(-1)!;
    if (!sink.isOpen) throw storeError ?? last.run.outcome.error ?? result.failure ?? clientLeft();
    if (sink.clientGone) {
      sink.end();
      return STREAMED;
    }
    // The answer has been streamed (and metered): the client learns in-band what went wrong after it
    // (a round whose stream had begun has already said why it failed).
    let failure: Error | undefined = storeError;
    if (failure === undefined && last.run.outcome.error && !last.run.streamed) failure = last.run.outcome.error;
    if (failure === undefined && !last.run.outcome.error) failure = result.failure;
    if (failure !== undefined) {
      await sink.fail(failure);
      sink.end();
      return STREAMED;
    }
    if (last.run.outcome.status === 'ok') {
      const report = this.report(turn, result);
      const usage: ChatChunk = {
        ...this.runner.usageChunk(last.run, last.call),
        id: sink.chunkId ?? last.run.chunkId,
        usage: usageObject(totalUsage(result.rounds)),
      };
      if (result.note) {
        // max_tool_rounds: the answer ends as cut short, with the reason.
        await sink.send({ ...usage, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'length' }], usage: undefined });
      }
      await sink.send({
        ...usage,
        conversation_id: turn.conversationId,
        ...(turn.key ? { conversation_key: turn.key } : {}),
        ...(turn.body.chat_id ? { chat_id: turn.body.chat_id } : {}),
        session_id: turn.sessionId,
        cost: microsToUsd(cost),
        ...(report ? { colloquy: report } : {}),
      });
    }
    sink.end();
    return STREAMED;
  }

  private report(turn: Turn, result: Rounds): ToolLoopReport | undefined {
    if (!turn.body.server_tools) return undefined;
    const calls = result.rounds.flatMap((r) => r.executed);
    return {
      tool_rounds: result.rounds.filter((r) => r.executed.length).length,
      tool_calls: calls.map((c) => ({
        name: c.name,
        tool_call_id: c.toolCallId,
        duration_ms: c.duration_ms,
        is_error: c.is_error,
        preview: c.preview,
      })),
      ...(result.note ? { note: result.note } : {}),
    };
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

function totalUsage(rounds: readonly Round[]): TokenUsage {
  const sum = (pick: (u: TokenUsage) => number) => rounds.reduce((n, r) => n + pick(r.run.outcome.usage), 0);
  return {
    promptTokens: sum((u) => u.promptTokens),
    completionTokens: sum((u) => u.completionTokens),
    cachedTokens: sum((u) => u.cachedTokens),
    reasoningTokens: sum((u) => u.reasoningTokens),
  };
}

/**
 * The last round's completion as the turn's answer: usage summed over the rounds, and only the
 * client's own tool calls left in the message (server tools were run here, or not at all when
 * max_tool_rounds stopped the turn: finish_reason `length`).
 */
function finalCompletion(completion: ChatCompletion, result: Rounds, usage: TokenUsage): ChatCompletion {
  const choices = completion.choices.map((choice, i) => {
    if (i !== 0 || !choice.message.tool_calls?.length) return choice;
    const { tool_calls: _all, ...message } = choice.message;
    const kept = result.clientCalls;
    return {
      ...choice,
      message: kept.length ? { ...message, tool_calls: kept } : message,
      finish_reason: result.note ? 'length' : kept.length ? 'tool_calls' : choice.finish_reason,
    };
  });
  return { ...completion, choices, usage: usageObject(usage) };
}

/** Between rounds: what one server tool did, on an otherwise valid chat.completion.chunk (no choices). */
function toolResultChunk(id: string, run: ChatRun, call: PreparedCall, executed: ExecutedCall): ChatChunk & { colloquy: unknown } {
  return {
    id,
    object: 'chat.completion.chunk',
    created: run.created,
    model: call.responseModel,
    choices: [],
    colloquy: {
      tool_result: {
        name: executed.name,
        tool_call_id: executed.toolCallId,
        duration_ms: executed.duration_ms,
        is_error: executed.is_error,
        preview: executed.preview,
      },
    },
  };
}
