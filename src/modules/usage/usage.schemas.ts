import { z } from 'zod';
import { isoInstant } from '../../common/validation/primitives.js';

const totals = {
  requests: z.number().int(),
  errors: z
    .number()
    .int()
    .describe('Calls that failed, or whose upstream stream ended before the answer was complete (metered with what they used).'),
  aborted: z.number().int().describe('Calls cut short by the client.'),
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  cached_tokens: z.number().int(),
  reasoning_tokens: z.number().int(),
  total_tokens: z.number().int(),
  cost_usd: z.number(),
};
export const usageTotalsView = z.object(totals);
export type UsageTotalsView = z.infer<typeof usageTotalsView>;

export const userStatsView = z
  .object({
    object: z.literal('user.stats'),
    user_id: z.uuid(),
    conversations: z.number().int(),
    sessions: z.number().int(),
    messages: z.number().int(),
    ...totals,
    by_model: z.array(z.object({ model: z.string(), ...totals })),
  })
  .meta({ id: 'UserStats' });
export type UserStatsView = z.infer<typeof userStatsView>;

export const usageQuery = z.strictObject({
  from: isoInstant().optional().describe('Start (inclusive). Default: 30 days before `to`.'),
  to: isoInstant(true).optional().describe('End: a date includes that whole day (UTC). Default: now.'),
  group_by: z.enum(['day', 'model', 'key', 'session', 'end_user']).default('day'),
  user_id: z.uuid().optional().describe('Admins: one user (default: everyone). Others: only themselves.'),
});
export type UsageQuery = z.infer<typeof usageQuery>;

export const usageReportView = z
  .object({
    object: z.literal('usage.report'),
    user_id: z.uuid().nullable().describe('null: every user (admins).'),
    from: z.string(),
    to: z.string(),
    group_by: z.enum(['day', 'model', 'key', 'session', 'end_user']),
    totals: usageTotalsView,
    data: z.array(z.object({ group: z.string().nullable(), ...totals })),
  })
  .meta({ id: 'UsageReport' });
export type UsageReportView = z.infer<typeof usageReportView>;
