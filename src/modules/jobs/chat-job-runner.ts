import { Injectable } from '@nestjs/common';
import { ApiKeysService } from '../auth/api-keys.service.js';
import type { ChatBody } from '../chat/chat.schemas.js';
import { ChatService, type ChatAnswer } from '../chat/chat.service.js';
import type { JobRow } from './jobs.repository.js';
import { JobRunner } from './job-runner.js';

/** A job is a /chat turn (not streamed), run as the API key that submitted it. */
@Injectable()
export class ChatJobRunner extends JobRunner {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly chat: ChatService,
  ) {
    super();
  }

  override async run(job: JobRow, signal: AbortSignal): Promise<ChatAnswer | null> {
    const caller = await this.keys.callerForKey(job.apiKeyId);
    const body = job.request as unknown as ChatBody;
    try {
      const answer = await this.chat.chat(caller, { ...body, stream: false }, { requestId: `job-${job.id}`, endpoint: '/jobs', signal });
      return answer.streamed ? null : answer.body;
    } catch (err) {
      if (signal.aborted) return null;
      throw err;
    }
  }
}
