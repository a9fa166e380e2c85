import { z } from 'zod';
import { metadataObject } from '../../common/validation/primitives.js';
import { chatMessage, samplingFields } from '../completions/completions.schemas.js';

export const chatBody = z
  .strictObject({
    messages: z.array(chatMessage).min(1).max(512).describe('The new messages of this turn (history is loaded from the conversation).'),
    model: z.string().min(1).max(256).optional().describe("Default: the conversation's model, else DEFAULT_MODEL."),
    profile: z
      .string()
      .min(1)
      .max(256)
      .nullable()
      .optional()
      .describe("A persona id applied over the model (its system prompt and defaults); null turns the conversation's persona off."),
    conversation_id: z.uuid().optional().describe('Continue this conversation; without it a new one is created.'),
    session_id: z.uuid().optional().describe("Default: the caller's active session, else a new one."),
    title: z.string().trim().min(1).max(500).optional().describe('Title of a new conversation (default: from the first message).'),
    tags: z.array(z.string().trim().min(1).max(64)).max(32).optional(),
    metadata: metadataObject().optional().describe('Metadata of a new conversation (a JSON object of at most 16 KB).'),
    file_ids: z.array(z.uuid()).max(100).optional().describe('Uploaded files to attach to the last user message.'),
    use_memory: z.boolean().optional().describe('Put your newest memories (GET /memories) in the prompt, up to MEMORY_MAX_TOKENS.'),
    save_memory: z.boolean().optional().describe("Remember this turn's user text (as a new memory) once it is answered."),
    ...samplingFields,
    n: z.literal(1).nullish().describe('Only one choice: it is the one stored.'),
  })
  .meta({ id: 'ChatRequest' });
export type ChatBody = z.infer<typeof chatBody>;

export const chatResponseView = z
  .looseObject({
    id: z.string(),
    object: z.literal('chat.completion'),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(z.unknown()),
    usage: z.unknown(),
    conversation_id: z.uuid(),
    session_id: z.uuid(),
    cost: z.number().describe('Cost of this call in USD.'),
  })
  .meta({ id: 'ChatResponse' });
