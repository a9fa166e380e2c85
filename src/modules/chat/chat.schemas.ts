import { z } from 'zod';
import { conversationRef, metadataObject } from '../../common/validation/primitives.js';
import { chatMessage, samplingFields } from '../completions/completions.schemas.js';

export const chatBody = z
  .strictObject({
    messages: z.array(chatMessage).min(1).max(512).describe('The new messages of this turn (history is loaded from the conversation).'),
    model: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe("A model id, persona or alias from GET /v1/models. Default: the conversation's model, else DEFAULT_MODEL."),
    profile: z
      .string()
      .min(1)
      .max(256)
      .nullable()
      .optional()
      .describe("A persona id applied over the model (its system prompt and defaults); null turns the conversation's persona off."),
    conversation_id: conversationRef()
      .optional()
      .describe(
        'Continue this conversation, by id or by key (`conv_abc123`: a key not used yet creates the conversation with it, under the account and `user`); without it a new one is created.',
      ),
    session_id: z.uuid().optional().describe("Default: the caller's active session, else a new one."),
    title: z.string().trim().min(1).max(500).optional().describe('Title of a new conversation (default: from the first message).'),
    tags: z.array(z.string().trim().min(1).max(64)).max(32).optional(),
    metadata: metadataObject().optional().describe('Metadata of a new conversation (a JSON object of at most 16 KB).'),
    file_ids: z.array(z.uuid()).max(100).optional().describe('Uploaded files to attach to the last user message.'),
    use_memory: z.boolean().optional().describe('Put your newest memories (GET /memories) in the prompt, up to MEMORY_MAX_TOKENS.'),
    save_memory: z.boolean().optional().describe("Remember this turn's user text (as a new memory) once it is answered."),
    server_tools: z
      .union([z.literal('auto'), z.array(z.string().min(1).max(200)).min(1).max(128)])
      .optional()
      .describe(
        'Tools Colloquy runs for the model (GET /tools names, such as `calculator` or `everything.add`), or `auto` for every available tool you may use. ' +
          'They are offered as function tools (`everything__add`) next to your own `tools`; their calls are run here and the model is asked again, ' +
          'until it answers without them or max_tool_rounds is reached (finish_reason `length`). A call of one of your own tools ends the turn as OpenAI sends it.',
      ),
    max_tool_rounds: z
      .number()
      .int()
      .min(1)
      .max(20)
      .optional()
      .describe('Rounds of server tool calls in this turn (default TOOLS_MAX_ROUNDS, 5); every round is its own usage record.'),
    provider: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe(
        'Smart-Host: a configured provider (`openai`, `openrouter`, `ollama`, …); `model` is then looked up within it, and one the catalog does not list is reached unpriced.',
      ),
    chat_id: conversationRef().optional().describe('Smart-Host: the conversation, by key (or id), as `conversation_id`; the answer echoes it.'),
    user_id: z.string().min(1).max(256).optional().describe("Smart-Host: the end user under your account, as OpenAI's `user`."),
    include_user_memory: z.boolean().optional().describe("Smart-Host: as `use_memory` (the end user's memories with `user_id`)."),
    save_to_user_memory: z.boolean().optional().describe("Smart-Host: as `save_memory` (into the end user's memories with `user_id`)."),
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
    conversation_key: z.string().optional().describe("The conversation's key, when it has one."),
    chat_id: z.string().optional().describe('Smart-Host: the chat_id of the request.'),
    session_id: z.uuid(),
    cost: z.number().describe('Cost of this turn in USD (the sum over its rounds of tool calls).'),
    colloquy: z
      .object({
        tool_rounds: z.number().int().describe('Rounds of server tool calls that ran.'),
        tool_calls: z.array(
          z.object({ name: z.string(), tool_call_id: z.string(), duration_ms: z.number().int(), is_error: z.boolean(), preview: z.string() }),
        ),
        note: z.string().optional().describe('Why the turn stopped early (max_tool_rounds, a limit reached between rounds).'),
      })
      .optional()
      .describe('With server_tools: what the tool loop did.'),
  })
  .meta({ id: 'ChatResponse' });
