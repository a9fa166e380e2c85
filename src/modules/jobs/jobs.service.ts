import { Injectable } from '@nestjs/common';
import { isUuid } from '../../common/validation/primitives.js';
import { endUserOf, type Caller } from '../../common/http/caller.js';
import { DomainError, type ErrorRecord } from '../../common/errors/domain-error.js';
import { errorView } from '../../common/errors/error-table.js';
import { canRead } from '../../common/http/ownership.js';
import { toPage, type ListPage } from '../../common/http/pagination.js';
import { unixSeconds } from '../../common/ids.js';
import { ModelCatalog } from '../../llm/model-catalog.js';
import { ConversationsService } from '../conversations/conversations.service.js';
import { JobsRepository, type JobRow } from './jobs.repository.js';
import type { JobStatus, JobView, ListJobsQuery, SubmitJobBody } from './jobs.schemas.js';
import { JobsWorker } from './jobs.worker.js';

/** POST /jobs and friends: /chat requests queued for the background workers. */
@Injectable()
export class JobsService {
  constructor(
    private readonly repo: JobsRepository,
    private readonly worker: JobsWorker,
    private readonly catalog: ModelCatalog,
    private readonly conversations: ConversationsService,
  ) {}

  /** Refuses at once what would surely fail (unknown model or persona, someone else's conversation). */
  async submit(caller: Caller, body: SubmitJobBody): Promise<JobView> {
    // Smart-Host's `provider` picks the model within it, as /chat reads it when the job runs.
    const model = body.provider ? this.catalog.idWithin(body.provider, body.model) : body.model;
    if (model) this.catalog.resolve(model);
    if (body.profile) this.catalog.persona(body.profile);
    // By id it must be the caller's; a key not used yet names the conversation the job will create.
    const ref = body.conversation_id ?? body.chat_id;
    const conversation = ref ? await this.conversations.findForChat(caller, ref, endUserOf(caller, body.user ?? body.user_id)) : null;
    const row = await this.repo.create({
      userId: caller.userId,
      apiKeyId: caller.keyId,
      request: body,
      model: model ?? null,
      conversationId: conversation?.id ?? null,
    });
    this.worker.poke();
    return toJobView(row);
  }

  async get(caller: Caller, id: string): Promise<JobView> {
    return toJobView(await this.owned(caller, id));
  }

  async list(caller: Caller, query: ListJobsQuery): Promise<ListPage<JobView>> {
    return this.listAs(caller, query, toJobView);
  }

  /** A job with the request it was submitted with (for adapters that show the request's fields). */
  async getDetail(caller: Caller, id: string): Promise<JobDetail> {
    return toJobDetail(await this.owned(caller, id));
  }

  /** As list, with each job's request, and a status filter of several states. */
  listDetails(caller: Caller, query: JobDetailsQuery): Promise<ListPage<JobDetail>> {
    return this.listAs(caller, query, toJobDetail);
  }

  private async listAs<T>(caller: Caller, query: JobDetailsQuery, map: (row: JobRow) => T): Promise<ListPage<T>> {
    return toPage(await this.repo.list(caller.userId, query, await this.conversationFilter(caller, query.conversation_id)), query, map);
  }

  /** The conversation a list is filtered by: an id as given; a key as the conversation it names (if any) and the jobs sent with it. */
  private async conversationFilter(caller: Caller, ref: string | undefined): Promise<{ id: string | null; key: string | null } | undefined> {
    if (!ref) return undefined;
    if (isUuid(ref)) return { id: ref, key: null };
    const conversation = await this.conversations.findForChat(caller, ref, '').catch(() => null);
    return { id: conversation?.id ?? null, key: ref };
  }

  /** Queued: cancelled at once. Running: stopped within moments, on whichever replica runs it. Finished: 409. */
  async cancel(caller: Caller, id: string): Promise<JobView> {
    const job = await this.owned(caller, id);
    if (job.status !== 'queued' && job.status !== 'running') {
      throw new DomainError(
        'conflict',
        `The job has already ${job.status === 'succeeded' ? 'succeeded' : job.status === 'failed' ? 'failed' : 'been cancelled'}.`,
        {
          code: 'job_finished',
        },
      );
    }
    await this.repo.cancel(id);
    this.worker.cancelLocal(id);
    return toJobView((await this.repo.find(id))!);
  }

  private async owned(caller: Caller, id: string): Promise<JobRow> {
    const job = await this.repo.find(id);
    if (!job || !canRead(caller, job.userId)) throw new DomainError('not_found', `No job with id ${id}.`);
    return job;
  }
}

/** A job and the request it was submitted with. */
export interface JobDetail {
  job: JobView;
  request: SubmitJobBody;
}
export type JobDetailsQuery = Omit<ListJobsQuery, 'status'> & { status?: JobStatus | readonly JobStatus[] };

function toJobDetail(row: JobRow): JobDetail {
  return { job: toJobView(row), request: row.request as SubmitJobBody };
}

function toJobView(row: JobRow): JobView {
  return {
    id: row.id,
    object: 'chat.job',
    user_id: row.userId,
    status: row.status as JobView['status'],
    model: row.model,
    conversation_id: row.conversationId,
    cancel_requested: row.cancelRequested,
    attempts: row.attempts,
    created_at: unixSeconds(row.createdAt)!,
    started_at: unixSeconds(row.startedAt),
    finished_at: unixSeconds(row.finishedAt),
    result: (row.result as JobView['result']) ?? null,
    error: row.error ? errorView(row.error as unknown as ErrorRecord) : null,
  };
}
