import { z } from 'zod';
import { metadataObject } from '../../common/validation/primitives.js';
import { listPageSchema, listQuery, queryFlag } from '../../common/http/pagination.js';

export const sessionIdParams = z.strictObject({ id: z.uuid() });
export type SessionIdParams = z.infer<typeof sessionIdParams>;

export const createSessionBody = z.strictObject({
  metadata: metadataObject().optional(),
});
export type CreateSessionBody = z.infer<typeof createSessionBody>;

export const listSessionsQuery = listQuery.extend({
  active: queryFlag('Only active sessions (true) or only inactive ones (false).'),
});
export type ListSessionsQuery = z.infer<typeof listSessionsQuery>;

export const sessionView = z
  .object({
    id: z.uuid(),
    object: z.literal('session'),
    user_id: z.uuid(),
    active: z.boolean().describe('Not ended, and seen activity within SESSION_IDLE_MINUTES.'),
    created_at: z.number().int(),
    last_activity_at: z.number().int(),
    ended_at: z.number().int().nullable(),
    conversation_count: z.number().int().describe('Conversations started in the session (deleted ones included).'),
    message_count: z.number().int().describe('Messages stored by turns of the session.'),
    request_count: z.number().int().describe('Upstream calls of the session, answered or not: its usage records.'),
    prompt_tokens: z.number().int(),
    completion_tokens: z.number().int(),
    total_tokens: z.number().int(),
    cost_usd: z.number().describe('Summed from the usage records when read, so it always equals the ledger.'),
    metadata: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'Session' });
export type SessionView = z.infer<typeof sessionView>;
export const sessionList = listPageSchema(sessionView).meta({ id: 'SessionList' });
