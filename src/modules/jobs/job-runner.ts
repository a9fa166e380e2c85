import type { ChatAnswer } from '../chat/chat.service.js';
import type { JobRow } from './jobs.repository.js';

/** What running a job means; the worker decides when, how often, and what is recorded. */
export abstract class JobRunner {
  /**
   * The job's answer, or null when it was stopped through `signal` (cancelled, shutting down,
   * lost). Throws what the job failed with (a DomainError as POST /chat would have answered).
   */
  abstract run(job: JobRow, signal: AbortSignal): Promise<ChatAnswer | null>;
}
