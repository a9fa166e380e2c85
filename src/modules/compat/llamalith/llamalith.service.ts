import { Injectable } from '@nestjs/common';
import type { Caller } from '../../../common/http/caller.js';
import { ConversationsService } from '../../conversations/conversations.service.js';
import type { JobStatus, SubmitJobBody } from '../../jobs/jobs.schemas.js';
import { JobsService, type JobDetail } from '../../jobs/jobs.service.js';
import type { LlamalithJobsQuery, LlamalithJobView, LlamalithStatus, LlamalithSubmitBody, LlamalithSubmitView } from './llamalith.schemas.js';

const TO_JOB_STATUSES: Record<LlamalithStatus, readonly JobStatus[]> = {
  queued: ['queued'],
  processing: ['running'],
  done: ['succeeded'],
  error: ['failed', 'cancelled'],
};
const FROM_JOB_STATUS: Record<JobStatus, LlamalithStatus> = {
  queued: 'queued',
  running: 'processing',
  succeeded: 'done',
  failed: 'error',
  cancelled: 'error',
};

/** Llamalith's job API (seed 003) over the job queue: a submit is a /chat job; its views in Llamalith's names. */
@Injectable()
export class LlamalithService {
  constructor(
    private readonly jobs: JobsService,
    private readonly conversations: ConversationsService,
  ) {}

  async submit(caller: Caller, body: LlamalithSubmitBody): Promise<LlamalithSubmitView> {
    const messages: SubmitJobBody['messages'] = [
      ...(body.system_prompt ? [{ role: 'system' as const, content: body.system_prompt }] : []),
      { role: 'user', content: body.user_input },
    ];
    const request: SubmitJobBody = {
      messages,
      ...(body.model ? { model: body.model } : {}),
      ...(body.session_id ? { conversation_id: body.session_id } : {}),
    };
    const job = await this.jobs.submit(caller, request);
    return { job_id: job.id };
  }

  async get(caller: Caller, id: string): Promise<LlamalithJobView> {
    return toView(await this.jobs.getDetail(caller, id));
  }

  async list(caller: Caller, query: LlamalithJobsQuery): Promise<LlamalithJobView[]> {
    const page = await this.jobs.listDetails(caller, {
      limit: query.limit,
      order: 'desc',
      ...(query.conversation_id ? { conversation_id: query.conversation_id } : {}),
      ...(query.status ? { status: TO_JOB_STATUSES[query.status] } : {}),
    });
    return page.data.map(toView);
  }

  async status(caller: Caller, conversation: string): Promise<{ response: string | null }> {
    return { response: await this.conversations.lastReply(caller, conversation) };
  }
}

function toView({ job, request }: JobDetail): LlamalithJobView {
  const system = request.messages.find((m) => m.role === 'system');
  const user = request.messages.findLast((m) => m.role === 'user');
  const status = FROM_JOB_STATUS[job.status];
  const answer = (job.result?.choices[0] as { message?: { content?: unknown } } | undefined)?.message?.content;
  return {
    id: job.id,
    conversation_id: request.conversation_id ?? job.conversation_id,
    user_input: typeof user?.content === 'string' ? user.content : null,
    model: job.model,
    system_prompt: typeof system?.content === 'string' ? system.content : null,
    status,
    result: status === 'done' && typeof answer === 'string' ? answer : null,
    error: job.status === 'cancelled' ? 'The job was cancelled.' : (job.error?.message ?? null),
    created_at: iso(job.created_at)!,
    processed_at: iso(job.finished_at),
  };
}

function iso(seconds: number | null): string | null {
  return seconds === null ? null : new Date(seconds * 1000).toISOString();
}
