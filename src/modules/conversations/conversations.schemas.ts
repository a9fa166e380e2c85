import { z } from 'zod';
import { conversationRef, isUuid, metadataObject } from '../../common/validation/primitives.js';
import { listPageSchema, listQuery } from '../../common/http/pagination.js';

/** A key: a conversation reference that is not an id. */
const conversationKey = conversationRef().refine((v) => !isUuid(v), 'a key may not be shaped like an id (a UUID)');
const tags = z.array(z.string().trim().min(1).max(64)).max(32);
const metadata = metadataObject();

export const conversationParams = z.strictObject({
  id: conversationRef().describe("The conversation's id, or its key (the account's own conversation with that key)."),
});
export type ConversationParams = z.infer<typeof conversationParams>;

export const createConversationBody = z.strictObject({
  key: conversationKey
    .optional()
    .describe('A name of your own for it (`conv_abc123`), usable wherever its id is; unique among your conversations (409 if taken).'),
  title: z.string().trim().min(1).max(500).optional(),
  tags: tags.optional(),
  metadata: metadata.optional(),
  session_id: z.uuid().optional(),
  model: z.string().min(1).max(256).optional().describe('The model later requests use when they name none.'),
  profile: z.string().min(1).max(256).optional().describe('A persona id whose system prompt the conversation runs with.'),
});
export type CreateConversationBody = z.infer<typeof createConversationBody>;

export const updateConversationBody = z.strictObject({
  title: z.string().trim().min(1).max(500).nullable().optional(),
  model: z.string().min(1).max(256).optional().describe('The model later turns use when they name none.'),
  profile: z.string().min(1).max(256).nullable().optional().describe('The persona later turns run with; null for none.'),
  summary: z.string().max(10_000).nullable().optional(),
  tags: tags.optional(),
  metadata: metadata.optional(),
});
export type UpdateConversationBody = z.infer<typeof updateConversationBody>;

export const listConversationsQuery = listQuery.extend({
  session_id: z.uuid().optional(),
  tag: z.string().min(1).max(64).optional(),
  q: z.string().min(1).max(200).optional().describe('Case-insensitive match on the title or the text of its user and assistant messages.'),
  user_id: z.uuid().optional().describe("Admins only: another user's conversations."),
  end_user: z.string().max(256).optional().describe("Only this end user's conversations (OpenAI's `user`); empty: the account's own."),
});
export type ListConversationsQuery = z.infer<typeof listConversationsQuery>;

export const listMessagesQuery = listQuery.extend({
  order: z.enum(['asc', 'desc']).default('asc').describe('Chronological by default.'),
});
export type ListMessagesQuery = z.infer<typeof listMessagesQuery>;

export const conversationView = z
  .object({
    id: z.uuid(),
    object: z.literal('conversation'),
    user_id: z.uuid(),
    session_id: z.uuid().nullable(),
    title: z.string().nullable(),
    summary: z.string().nullable(),
    tags: z.array(z.string()),
    metadata: z.record(z.string(), z.unknown()),
    model: z.string().nullable(),
    profile: z.string().nullable(),
    key: z.string().nullable().describe('The name the client gave it (Smart-Host chat_id, Llamalith session_id), usable wherever its id is.'),
    end_user: z.string().nullable().describe("The end user it belongs to under the account (OpenAI's `user`); null: the account's own."),
    message_count: z.number().int().describe('Messages stored in it.'),
    prompt_tokens: z.number().int(),
    completion_tokens: z.number().int(),
    total_tokens: z.number().int(),
    cost_usd: z.number().describe('Summed from its usage records when read, so it always equals the ledger.'),
    created_at: z.number().int(),
    updated_at: z.number().int(),
    last_used_at: z.number().int(),
    files: z
      .array(z.object({ id: z.uuid(), filename: z.string(), mime_type: z.string(), kind: z.string(), bytes: z.number().int() }))
      .optional()
      .describe('Files attached to its messages (on GET /conversations/{id}).'),
  })
  .meta({ id: 'Conversation' });
export type ConversationView = z.infer<typeof conversationView>;
export const conversationList = listPageSchema(conversationView).meta({ id: 'ConversationList' });

export const messageView = z
  .object({
    id: z.uuid(),
    object: z.literal('conversation.message'),
    conversation_id: z.uuid(),
    role: z.string(),
    content: z.unknown().describe('A string, or OpenAI content parts; attached files appear as file parts.'),
    name: z.string().nullable(),
    tool_calls: z.array(z.unknown()).nullable(),
    tool_call_id: z.string().nullable(),
    model: z.string().nullable(),
    status: z.enum(['complete', 'incomplete', 'error']),
    finish_reason: z.string().nullable(),
    tokens: z.number().int(),
    usage: z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int() }).nullable(),
    cost_usd: z.number().nullable().describe("An assistant message's cost: its upstream round's usage record (null for other messages)."),
    created_at: z.number().int(),
  })
  .meta({ id: 'ConversationMessage' });
export type MessageView = z.infer<typeof messageView>;
export const messageList = listPageSchema(messageView).meta({ id: 'ConversationMessageList' });

export const deletedConversationView = z
  .object({ id: z.uuid(), object: z.literal('conversation'), deleted: z.literal(true) })
  .meta({ id: 'DeletedConversation' });
