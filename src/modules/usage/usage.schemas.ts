import { z } from 'zod';

const modelTotals = z.object({
  model: z.string(),
  requests: z.number().int(),
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  total_tokens: z.number().int(),
  cost_usd: z.number(),
});

export const userStatsView = z
  .object({
    object: z.literal('user.stats'),
    user_id: z.uuid(),
    conversations: z.number().int(),
    sessions: z.number().int(),
    messages: z.number().int(),
    requests: z.number().int(),
    prompt_tokens: z.number().int(),
    completion_tokens: z.number().int(),
    total_tokens: z.number().int(),
    cost_usd: z.number(),
    by_model: z.array(modelTotals),
  })
  .meta({ id: 'UserStats' });
export type UserStatsView = z.infer<typeof userStatsView>;
