import { z } from 'zod';

// OpenAI's image generation request. Fields this server does not check (quality, style,
// background, output_format, moderation…) are passed to the upstream as given.
export const imageGenerationBody = z
  .looseObject({
    prompt: z.string().min(1, 'must not be empty').max(32_000).describe('What to draw.'),
    model: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe('An image model from GET /v1/models (`kind: "image"`), or an alias of one. Default: the first configured, else colloquy/image.'),
    n: z.number().int().min(1).max(10).default(1).describe('How many images (1-10).'),
    size: z
      .string()
      .regex(/^(auto|\d{2,4}x\d{2,4})$/, 'must be auto or WIDTHxHEIGHT, e.g. 1024x1024')
      .optional()
      .describe('WIDTHxHEIGHT as the model accepts it, or auto.'),
    response_format: z.enum(['url', 'b64_json']).optional().describe('Where the model supports it: a URL or base64 PNG data.'),
    user: z.string().max(256).optional().describe('Your end-user id, recorded on the usage record.'),
    stream: z.literal(false).optional().describe('Streaming partial images is not available.'),
  })
  .meta({ id: 'CreateImageRequest', description: "OpenAI's image generation request; unknown fields are passed upstream." });
export type ImageGenerationBody = z.infer<typeof imageGenerationBody>;

export const imagesResponseView = z
  .looseObject({
    created: z.number().int(),
    data: z.array(z.looseObject({ b64_json: z.string().optional(), url: z.string().optional(), revised_prompt: z.string().optional() })),
    usage: z.looseObject({ input_tokens: z.number().int(), output_tokens: z.number().int(), total_tokens: z.number().int() }).optional(),
  })
  .meta({ id: 'ImagesResponse' });
export type ImagesResponseView = z.infer<typeof imagesResponseView>;
