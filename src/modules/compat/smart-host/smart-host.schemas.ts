import { z } from 'zod';
import { conversationRef } from '../../../common/validation/primitives.js';
import { embeddingBody } from '../../embeddings/embeddings.schemas.js';
import { imageGenerationBody } from '../../images/images.schemas.js';

const provider = z
  .string()
  .min(1)
  .max(64)
  .optional()
  .describe('A configured provider (`openai`, `openrouter`, `ollama`, …): `model` is looked up within it (default: its first model of the kind).');

export const smartHostEmbedBody = embeddingBody
  .extend({ provider, model: embeddingBody.shape.model.optional() })
  .meta({ id: 'SmartHostEmbedRequest', description: "Smart-Host's embeddings request: OpenAI's, with `provider`." });
export type SmartHostEmbedBody = z.infer<typeof smartHostEmbedBody>;

export const smartHostImageBody = imageGenerationBody
  .extend({ provider })
  .meta({ id: 'SmartHostImageRequest', description: "Smart-Host's image request: OpenAI's, with `provider`." });
export type SmartHostImageBody = z.infer<typeof smartHostImageBody>;

const endUserId = z.string().min(1).max(256);

export const memoryConversationParams = z.strictObject({ id: conversationRef().describe('The conversation: its id, or its key (a chat_id).') });
export type MemoryConversationParams = z.infer<typeof memoryConversationParams>;
export const memoryConversationQuery = z.strictObject({
  user_id: endUserId
    .optional()
    .describe("The end user whose conversation the key names (default: your account's own, else the one end user's with that key)."),
});
export type MemoryConversationQuery = z.infer<typeof memoryConversationQuery>;

export const memoryUserParams = z.strictObject({
  user_id: endUserId.describe("An end user of your account (your account's own id: its own memories)."),
});
export type MemoryUserParams = z.infer<typeof memoryUserParams>;

/** How many ids a status lists at most (its counts are exact). */
export const MEMORY_STATUS_MAX_IDS = 1000;

export const memoryStatusView = z
  .object({
    object: z.literal('memory.status'),
    conversation_memory: z.object({
      count: z.number().int().describe('Your conversations with stored history.'),
      ids: z.array(z.string()).describe(`Their keys (chat_id), or ids where they have none; newest first, at most ${MEMORY_STATUS_MAX_IDS}.`),
      conversations: z.array(
        z.object({
          id: z.uuid(),
          key: z.string().nullable(),
          user_id: z.string().nullable().describe('The end user, if any.'),
          messages: z.number().int(),
        }),
      ),
    }),
    user_memory: z.object({
      count: z.number().int().describe('End users (and your account, as its own id) with memories.'),
      ids: z.array(z.string()),
      users: z.array(z.object({ user_id: z.string(), memories: z.number().int() })),
    }),
  })
  .meta({ id: 'SmartHostMemoryStatus' });
export type MemoryStatusView = z.infer<typeof memoryStatusView>;
