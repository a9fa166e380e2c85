import { Injectable } from '@nestjs/common';
import type { Caller } from '../../../common/http/caller.js';
import type { Answer, CallSession } from '../../../common/streaming/answer.js';
import { AppConfig } from '../../../config/app-config.js';
import type { ChatCompletion } from '../../../llm/chat-types.js';
import { CompletionsService } from '../../completions/completions.service.js';
import type { LumaChatBody, LumaStreamBody } from './luma.schemas.js';

/**
 * Luma's /chat/completion and /chat/stream: a /v1/chat/completions call on Luma's model unless
 * the body names one, streamed when the route is the streaming one. Stateless: metered, not stored.
 */
@Injectable()
export class LumaService {
  constructor(
    private readonly completions: CompletionsService,
    private readonly config: AppConfig,
  ) {}

  complete(caller: Caller, body: LumaChatBody | LumaStreamBody, session: CallSession): Promise<Answer<ChatCompletion>> {
    return this.completions.create(
      caller,
      { ...body, model: body.model ?? this.config.compat.luma.model, stream: session.sink !== undefined },
      session,
    );
  }
}
