import { z } from 'zod';
import { conversationRef } from '../../../common/validation/primitives.js';

// Llamalith's API reads its bodies as pydantic models do: unknown fields are ignored.
export const llamalithSubmitBody = z
  .object({
    user_input: z.string().min(1).describe('The prompt.'),
    model: z.string().min(1).max(256).optional().describe('A model id or alias (`mistral`); default: DEFAULT_MODEL.'),
    session_id: conversationRef()
      .optional()
      .describe('The conversation, by key (`story-123`) or id; a new key creates it. Without it: a new conversation.'),
    system_prompt: z.string().min(1).optional().describe('Sent as the system message of this turn.'),
  })
  .meta({ id: 'LlamalithSubmitRequest' });
export type LlamalithSubmitBody = z.infer<typeof llamalithSubmitBody>;

export const llamalithSubmitView = z.object({ job_id: z.uuid() }).meta({ id: 'LlamalithSubmitResponse' });
export type LlamalithSubmitView = z.infer<typeof llamalithSubmitView>;

export const LLAMALITH_STATUSES = ['queued', 'processing', 'done', 'error'] as const;
export type LlamalithStatus = (typeof LLAMALITH_STATUSES)[number];

export const llamalithJobParams = z.strictObject({ job_id: z.uuid() });
export type LlamalithJobParams = z.infer<typeof llamalithJobParams>;

/** Most jobs one list answers (a larger `limit` is read as this). */
export const LLAMALITH_MAX_LIMIT = 100;

export const llamalithJobsQuery = z.strictObject({
  conversation_id: conversationRef().optional().describe("Only this conversation's jobs (its key, or id)."),
  status: z.enum(LLAMALITH_STATUSES).optional().describe('`error` also takes cancelled jobs.'),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .default(50)
    .transform((n) => Math.min(n, LLAMALITH_MAX_LIMIT))
    .describe(`How many, newest first (at most ${LLAMALITH_MAX_LIMIT}).`),
});
export type LlamalithJobsQuery = z.infer<typeof llamalithJobsQuery>;

export const llamalithJobView = z
  .object({
    id: z.uuid(),
    conversation_id: z.string().nullable().describe('The session_id it was submitted with, else the conversation it created.'),
    user_input: z.string().nullable(),
    model: z.string().nullable(),
    system_prompt: z.string().nullable(),
    status: z.enum(LLAMALITH_STATUSES),
    result: z.string().nullable().describe("The assistant's answer, once done."),
    error: z.string().nullable().describe('Why it failed (or that it was cancelled), once in error.'),
    created_at: z.iso.datetime(),
    processed_at: z.iso.datetime().nullable(),
  })
  .meta({ id: 'LlamalithJob' });
export type LlamalithJobView = z.infer<typeof llamalithJobView>;

export const llamalithStatusParams = z.strictObject({ conversation_id: conversationRef() });
export type LlamalithStatusParams = z.infer<typeof llamalithStatusParams>;

export const llamalithStatusView = z
  .object({ response: z.string().nullable().describe('The newest assistant message of the conversation, or null while there is none.') })
  .meta({ id: 'LlamalithStatus' });
export type LlamalithStatusView = z.infer<typeof llamalithStatusView>;
