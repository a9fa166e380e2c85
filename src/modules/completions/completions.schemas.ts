import { z } from 'zod';

// OpenAI's chat completion request, validated where it matters (roles, parts, ranges) and open
// elsewhere: fields this server does not know are passed upstream untouched, as OpenAI's own
// schema and provider extensions (OpenRouter's `provider`, `reasoning`…) expect.

const textPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const imagePart = z.looseObject({
  type: z.literal('image_url'),
  image_url: z.looseObject({
    url: z.string().refine((u) => /^(https?:\/\/|data:image\/)/i.test(u), 'must be an http(s) URL or a data:image/… URL'),
    detail: z.enum(['auto', 'low', 'high']).optional(),
  }),
});
const filePart = z.looseObject({
  type: z.literal('file'),
  file: z
    .looseObject({ file_id: z.string().optional(), file_data: z.string().optional(), filename: z.string().optional() })
    .refine((f) => f.file_id || f.file_data, 'needs file_id or file_data'),
});
const base64 = /^[A-Za-z0-9+/]*={0,2}$/;
const audioPart = z.looseObject({
  type: z.literal('input_audio'),
  input_audio: z.looseObject({
    data: z.string().min(1).regex(base64, 'must be base64 audio data'),
    format: z.string().min(1).max(16).describe('wav, mp3, …'),
  }),
});
const refusalPart = z.looseObject({ type: z.literal('refusal'), refusal: z.string() });
// Every kind the upstreams accept is listed, so each is counted before the call (an unknown
// kind would be a part nobody priced): anything else is refused.
const userPart = z.discriminatedUnion('type', [textPart, imagePart, filePart, audioPart]);
const assistantPart = z.discriminatedUnion('type', [textPart, refusalPart]);

const nonEmptyContent = z.union([z.string(), z.array(userPart).min(1, 'must contain at least one part')]);
const textOnlyContent = z.union([z.string(), z.array(textPart).min(1)]);

const toolCall = z.looseObject({
  id: z.string(),
  type: z.literal('function'),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

export const systemMessage = z.looseObject({ role: z.enum(['system', 'developer']), content: textOnlyContent, name: z.string().optional() });
export const userMessage = z.looseObject({ role: z.literal('user'), content: nonEmptyContent, name: z.string().optional() });
export const assistantMessage = z
  .looseObject({
    role: z.literal('assistant'),
    content: z.union([z.string(), z.array(assistantPart), z.null()]).optional(),
    name: z.string().optional(),
    tool_calls: z.array(toolCall).optional(),
    refusal: z.string().nullish(),
  })
  .refine((m) => (m.content !== undefined && m.content !== null) || (m.tool_calls?.length ?? 0) > 0, {
    message: 'an assistant message needs content or tool_calls',
  });
const toolMessage = z.looseObject({ role: z.literal('tool'), content: textOnlyContent, tool_call_id: z.string().min(1) });
const functionMessage = z.looseObject({ role: z.literal('function'), content: z.string().nullable(), name: z.string() });

export const chatMessage = z.discriminatedUnion('role', [systemMessage, userMessage, assistantMessage, toolMessage, functionMessage]);

/** The sampling and control parameters shared by /v1/chat/completions and /chat. */
export const samplingFields = {
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  max_tokens: z.number().int().positive().nullish(),
  max_completion_tokens: z.number().int().positive().nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  seed: z.number().int().nullish(),
  n: z.number().int().min(1).max(8).nullish(),
  logit_bias: z.record(z.string(), z.number().min(-100).max(100)).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  response_format: z.looseObject({ type: z.enum(['text', 'json_object', 'json_schema']) }).nullish(),
  tools: z
    .array(
      z.looseObject({
        type: z.string(),
        function: z
          .looseObject({
            name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/),
            description: z.string().optional(),
            parameters: z.record(z.string(), z.unknown()).optional(),
          })
          .optional(),
      }),
    )
    .max(128)
    .nullish(),
  tool_choice: z.union([z.enum(['none', 'auto', 'required']), z.looseObject({ type: z.string() })]).nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  user: z.string().max(256).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
};

export const chatCompletionBody = z
  .looseObject({
    model: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe('A model id from GET /v1/models: a catalog model, a persona or an alias. Default: DEFAULT_MODEL.'),
    messages: z.array(chatMessage).min(1).max(2048),
    ...samplingFields,
  })
  .meta({ id: 'ChatCompletionRequest', description: "OpenAI's chat completion request; unknown fields are passed upstream." });
export type ChatCompletionBody = z.infer<typeof chatCompletionBody>;

const usageView = z.object({
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  prompt_tokens_details: z.object({ cached_tokens: z.number().int() }).partial().nullish(),
  completion_tokens_details: z.object({ reasoning_tokens: z.number().int() }).partial().nullish(),
});

export const chatCompletionView = z
  .looseObject({
    id: z.string(),
    object: z.literal('chat.completion'),
    created: z.number().int(),
    model: z.string().describe('The id that was requested (a persona id stays a persona id).'),
    choices: z.array(
      z.looseObject({
        index: z.number().int(),
        message: z.looseObject({ role: z.literal('assistant'), content: z.string().nullable(), refusal: z.string().nullable() }),
        logprobs: z.unknown().nullable(),
        finish_reason: z.string().nullable(),
      }),
    ),
    usage: usageView.optional(),
  })
  .meta({ id: 'ChatCompletion' });
