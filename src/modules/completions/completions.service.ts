import { Injectable } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Caller } from '../../common/http/caller.js';
import { clientDisconnectSignal } from '../../common/http/sse.js';
import type { ChatMessage, ChatRequestBody } from '../../llm/chat-types.js';
import { ModelCatalog } from '../../llm/model-catalog.js';
import { costMicros } from '../../llm/pricing.js';
import { AttachmentResolver } from '../files/attachment-resolver.service.js';
import { Admission, LimitsService } from '../limits/limits.service.js';
import { UsageRecorder } from '../usage/usage-recorder.service.js';
import type { UsageEntry } from '../usage/usage-entry.js';
import { CompletionRunner, type CallOutcome, type MeteredCallPlan, type PreparedCall } from './completion-runner.js';
import type { ChatCompletionBody } from './completions.schemas.js';

export interface RequestMeta {
  requestId: string;
  endpoint: string;
}

/** POST /v1/chat/completions: a stateless drop-in for OpenAI's, metered but not stored. */
@Injectable()
export class CompletionsService {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly runner: CompletionRunner,
    private readonly usage: UsageRecorder,
    private readonly attachments: AttachmentResolver,
    private readonly limits: LimitsService,
  ) {}

  async create(caller: Caller, body: ChatCompletionBody, reply: FastifyReply, meta: RequestMeta): Promise<void> {
    const model = this.catalog.resolve(body.model);
    const { messages, extraTokens } = await this.attachments.expand(caller, body.messages as ChatMessage[], model);
    const call = await this.runner.prepare(model, { ...(body as ChatRequestBody), messages }, { extraTokens: extraTokens.reduce((a, b) => a + b, 0) });
    const admission = await this.limits.admit(caller, call);
    reply.headers(admission.headers);
    const signal = clientDisconnectSignal(reply);
    if (!body.stream) {
      const outcome = await this.runner.runBlocking(call, signal);
      await this.meter(caller, call, outcome, meta, body.user, admission);
      if (outcome.error) throw outcome.error;
      if (outcome.status === 'ok') await reply.send(outcome.completion);
      return;
    }
    const run = await this.runner.runStreaming(call, this.runner.sse(reply), signal);
    await this.meter(caller, call, run.outcome, meta, body.user, admission);
    if (!run.writer) {
      if (run.outcome.error) throw run.outcome.error;
      return;
    }
    if (run.outcome.status === 'ok' && call.includeUsage) await run.writer.send(this.runner.usageChunk(run, call));
    run.writer.end();
  }

  /** Settles the call against its limits, then writes its usage record. */
  private async meter(caller: Caller, call: PreparedCall, outcome: CallOutcome, meta: RequestMeta, user: string | null | undefined, admission: Admission): Promise<void> {
    const entry = usageEntry(caller, call, outcome, meta, user);
    await admission.settle(outcome.usage, entry.costMicros);
    this.usage.record(entry);
  }
}

/** The usage record of one call, whatever its outcome. */
export function usageEntry(
  caller: Caller,
  call: MeteredCallPlan,
  outcome: Pick<CallOutcome, 'answered' | 'usage' | 'latencyMs' | 'ttftMs' | 'status' | 'estimated' | 'error'> & {
    /** When tokens alone do not give the cost (images priced per image). */
    costMicros?: number;
  },
  meta: RequestMeta,
  endUser: string | null | undefined,
  links: { conversationId?: string | null; sessionId?: string | null } = {},
): UsageEntry {
  const model = outcome.answered?.model ?? call.model;
  return {
    requestId: meta.requestId,
    userId: caller.userId,
    apiKeyId: caller.keyId,
    endUser: endUser ?? null,
    endpoint: meta.endpoint,
    requestedModel: call.responseModel,
    upstreamModel: outcome.answered?.upstreamModel ?? call.model.upstreamId,
    provider: outcome.answered?.provider ?? call.model.provider,
    conversationId: links.conversationId ?? null,
    sessionId: links.sessionId ?? null,
    promptTokens: outcome.usage.promptTokens,
    completionTokens: outcome.usage.completionTokens,
    cachedTokens: outcome.usage.cachedTokens,
    reasoningTokens: outcome.usage.reasoningTokens,
    costMicros: outcome.costMicros ?? costMicros(model.pricing, outcome.usage),
    latencyMs: outcome.latencyMs,
    ttftMs: outcome.ttftMs,
    status: outcome.status,
    estimated: outcome.estimated,
    errorCode: outcome.error?.code ?? (outcome.error ? outcome.error.kind : null),
  };
}
