import { z } from 'zod';
import { listPageSchema, listQuery, queryFlag } from '../../common/http/pagination.js';
import { budgetInput, budgetView, limitsInput, limitsView } from '../users/users.schemas.js';

export const keyIdParams = z.strictObject({ id: z.uuid() });
export type KeyIdParams = z.infer<typeof keyIdParams>;

export const createKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  limits: limitsInput.optional(),
  budget: budgetInput.optional(),
});
export type CreateKeyBody = z.infer<typeof createKeyBody>;

export const updateKeyBody = z.strictObject({
  name: z.string().trim().min(1).max(200).nullable().optional(),
  limits: limitsInput.optional(),
  budget: budgetInput.optional(),
});
export type UpdateKeyBody = z.infer<typeof updateKeyBody>;

export const listKeysQuery = listQuery.extend({
  include_revoked: queryFlag('Also list revoked keys.'),
});
export type ListKeysQuery = z.infer<typeof listKeysQuery>;

export const apiKeyView = z
  .object({
    id: z.uuid(),
    object: z.literal('api_key'),
    user_id: z.uuid(),
    name: z.string().nullable(),
    prefix: z.string().describe('The first characters of the key; the key itself is never shown again.'),
    limits: limitsView,
    budget: budgetView,
    created_at: z.number().int(),
    last_used_at: z.number().int().nullable(),
    revoked_at: z.number().int().nullable(),
  })
  .meta({ id: 'ApiKey' });
export type ApiKeyView = z.infer<typeof apiKeyView>;
export const apiKeyList = listPageSchema(apiKeyView).meta({ id: 'ApiKeyList' });

export const createdApiKeyView = z
  .object({
    id: z.uuid(),
    object: z.literal('api_key'),
    key: z.string().describe('The secret key. Shown only in this response: store it now.'),
    prefix: z.string(),
    name: z.string().nullable(),
    user_id: z.uuid(),
    created_at: z.number().int(),
  })
  .meta({ id: 'CreatedApiKey' });
export type CreatedApiKeyView = z.infer<typeof createdApiKeyView>;

export const deletedKeyView = z.object({ id: z.uuid(), object: z.literal('api_key'), deleted: z.literal(true) }).meta({ id: 'DeletedApiKey' });
export type DeletedKeyView = z.infer<typeof deletedKeyView>;
