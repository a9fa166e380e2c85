import { z } from 'zod';
import { assistantMessage, samplingFields, systemMessage, userMessage } from '../../completions/completions.schemas.js';

// Luma's chat routers took OpenAI messages in the three conversational roles only; the content
// rules are /v1's own (the same parts, counted and bounded the same way).

const lumaMessage = z.discriminatedUnion('role', [systemMessage.extend({ role: z.literal('system') }), userMessage, assistantMessage]);

/** The sampling parameters Luma's routes take: /v1's, less tools (no tool role to answer them with) and `stream` (each route's own, below). */
const sampling = z.object(samplingFields).pick({
  temperature: true,
  top_p: true,
  max_tokens: true,
  max_completion_tokens: true,
  frequency_penalty: true,
  presence_penalty: true,
  stop: true,
  seed: true,
  n: true,
  logit_bias: true,
  logprobs: true,
  top_logprobs: true,
  response_format: true,
  user: true,
  stream_options: true,
}).shape;

const lumaFields = {
  model: z
    .string()
    .min(1)
    .max(256)
    .optional()
    .describe('A model id, persona or alias from GET /v1/models. Default: compat.luma.model (LUMA_MODEL), the persona luma/therapist.'),
  messages: z
    .array(lumaMessage)
    .min(1)
    .max(2048)
    .describe('OpenAI chat messages with the role `system`, `user` or `assistant` (another role: 400 naming `messages.<index>.role`).'),
  ...sampling,
};

/** POST /chat/completion: `stream` may be given, as false (the route answers whole). */
export const lumaChatBody = z.strictObject({ ...lumaFields, stream: z.literal(false).optional().describe('Streaming is POST /chat/stream.') }).meta({
  id: 'LumaChatRequest',
  description: "Luma's chat request: messages and OpenAI's sampling parameters (the persona's defaults apply to what is left out).",
});
export type LumaChatBody = z.infer<typeof lumaChatBody>;

/** POST /chat/stream: the same, `stream` given only as true (the route streams). */
export const lumaStreamBody = z
  .strictObject({ ...lumaFields, stream: z.literal(true).optional().describe('The route streams; true may be sent.') })
  .meta({ id: 'LumaStreamRequest', description: "Luma's chat request, answered as Server-Sent Events." });
export type LumaStreamBody = z.infer<typeof lumaStreamBody>;
