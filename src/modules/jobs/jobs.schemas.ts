import { z } from 'zod';
import { listPageSchema, listQuery } from '../../common/http/pagination.js';
import { conversationRef } from '../../common/validation/primitives.js';
import { chatBody, chatResponseView } from '../chat/chat.schemas.js';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const jobIdParams = z.strictObject({ id: z.uuid() });
export type JobIdParams = z.infer<typeof jobIdParams>;

export const submitJobBody = chatBody
  .refine((b) => !b.stream, { message: 'A job answers through GET /jobs/{id}; it cannot stream.', path: ['stream'] })
  .meta({ id: 'JobRequest', description: 'The body of POST /chat (JSON, without streaming), run in the background.' });
export type SubmitJobBody = z.infer<typeof submitJobBody>;

export const listJobsQuery = listQuery.extend({
  status: z.enum(JOB_STATUSES).optional().describe('Only jobs in this state.'),
  conversation_id: conversationRef().optional().describe('Only jobs of this conversation (its id, or its key).'),
});
export type ListJobsQuery = z.infer<typeof listJobsQuery>;

export const jobView = z
  .object({
    id: z.uuid(),
    object: z.literal('chat.job'),
    user_id: z.uuid(),
    status: z.enum(JOB_STATUSES),
    model: z.string().nullable().describe('The model asked for (null: the default at run time).'),
    conversation_id: z.uuid().nullable().describe('Known once the job has run (or given at submission).'),
    cancel_requested: z.boolean().describe('A cancel reached the job while it was running; it stops shortly.'),
    attempts: z.number().int().describe('Times a worker claimed it (more than 1: a worker died while running it).'),
    created_at: z.number().int(),
    started_at: z.number().int().nullable(),
    finished_at: z.number().int().nullable(),
    result: chatResponseView.nullable().describe('The POST /chat response, once succeeded.'),
    error: z
      .object({ status: z.number().int(), message: z.string(), type: z.string(), param: z.string().nullable(), code: z.string().nullable() })
      .nullable()
      .describe('What POST /chat would have answered, once failed.'),
  })
  .meta({ id: 'ChatJob' });
export type JobView = z.infer<typeof jobView>;
export const jobList = listPageSchema(jobView).meta({ id: 'ChatJobList' });
