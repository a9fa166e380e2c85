import { DomainError, withHeaders } from '../../common/errors/domain-error.js';
import { Injectable } from '@nestjs/common';
import type { Caller } from '../../common/http/caller.js';
import { answer, clientLeft, STREAMED, type Answer, type CallSession } from '../../common/streaming/answer.js';
import type { ChatCompletion, ChatMessage, ChatRequestBody } from '../../llm/chat-types.js';
import { ModelCatalog } from '../../llm/model-catalog.js';
import type { CallContext } from '../../metering/call.js';
import { Metering, type Admission } from '../../metering/metering.service.js';
import { AttachmentResolver } from '../files/attachment-resolver.service.js';
import { CompletionRunner, type PreparedCall } from './completion-runner.js';
import type { ChatCompletionBody } from './completions.schemas.js';

/** POST /v1/chat/completions: a stateless drop-in for OpenAI's, metered but not stored. */
@Injectable()
export class CompletionsService {
  constructor(
    private readonly catalog: ModelCatalog,
    private readonly runner: CompletionRunner,
    private readonly attachments: AttachmentResolver,
    private readonly metering: Metering,
  ) {}

  async create(caller: Caller, body: ChatCompletionBody, session: CallSession): Promise<Answer<ChatCompletion>> {
    const model = this.catalog.resolve(body.model);
    const { messages, extraTokens } = await this.attachments.expand(caller, body.messages as ChatMessage[], model);
    const prepared = await this.runner.prepare(
      model,
      { ...(body as ChatRequestBody), messages },
      { extraTokens: extraTokens.reduce((a, b) => a + b, 0) },
    );
    const { call, admission } = await this.admit(caller, prepared, { requestId: session.requestId, endpoint: session.endpoint, endUser: body.user });
    const sink = body.stream ? session.sink : undefined;
    const run = sink
      ? await this.runner.runStreaming(call, sink, session.signal, admission.headers)
      : await this.runner.runBlocking(call, session.signal);
    await admission.settle(run.outcome);
    if (!run.streamed) {
      // An error after admission still carries the call's rate-limit headers, as the answer would.
      if (run.outcome.error) throw withHeaders(run.outcome.error, admission.headers);
      if (!run.completion) throw clientLeft();
      return answer(run.completion, admission.headers);
    }
    if (run.outcome.status === 'ok' && call.includeUsage) await sink!.send(this.runner.usageChunk(run, call));
    sink!.end();
    return STREAMED;
  }

  /**
   * Admits the call at its prompt's upper bound; if a token limit or a budget refuses that, the
   * prompt is counted and the call asked again at its real size (the refused hold was not taken).
   */
  private async admit(caller: Caller, call: PreparedCall, context: CallContext): Promise<{ call: PreparedCall; admission: Admission }> {
    try {
      return { call, admission: await this.metering.admit(caller, call, context) };
    } catch (err) {
      const refusedByLimit = err instanceof DomainError && (err.kind === 'rate_limited' || err.kind === 'quota_exceeded');
      if (call.promptCounted || !refusedByLimit) throw err;
      const counted = await this.runner.counted(call);
      return { call: counted, admission: await this.metering.admit(caller, counted, context) };
    }
  }
}
