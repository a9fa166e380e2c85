import { z } from 'zod';

// OpenAI's embeddings request: one text, many texts, or token arrays. OpenAI's own limits: at most
// 2048 inputs, none empty.
const MAX_INPUTS = 2048;
const text = z.string().min(1, 'must not be empty');
const tokens = z.array(z.number().int().nonnegative()).min(1, 'must not be empty');

export const embeddingBody = z
  .looseObject({
    model: z
      .string()
      .min(1)
      .max(256)
      .describe('An embedding model from GET /v1/models (`kind: "embedding"`), or an alias of one, e.g. colloquy/embed.'),
    input: z
      .union([text, z.array(text).min(1).max(MAX_INPUTS), tokens, z.array(tokens).min(1).max(MAX_INPUTS)])
      .describe('A text, an array of up to 2048 texts, or token arrays; none may be empty.'),
    encoding_format: z.enum(['float', 'base64']).default('float').describe('`base64`: each vector as little-endian float32 bytes.'),
    dimensions: z.number().int().positive().optional().describe('Fewer dimensions than the model gives, where the model supports it.'),
    user: z.string().max(256).optional().describe('Your end-user id, recorded on the usage record.'),
  })
  .meta({ id: 'CreateEmbeddingRequest', description: "OpenAI's embeddings request." });
export type EmbeddingBody = z.infer<typeof embeddingBody>;

export const embeddingListView = z
  .object({
    object: z.literal('list'),
    data: z.array(
      z.object({
        object: z.literal('embedding'),
        index: z.number().int(),
        embedding: z.union([z.array(z.number()), z.string()]),
      }),
    ),
    model: z.string().describe('The id that was requested.'),
    usage: z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }),
  })
  .meta({ id: 'CreateEmbeddingResponse' });
export type EmbeddingListView = z.infer<typeof embeddingListView>;
