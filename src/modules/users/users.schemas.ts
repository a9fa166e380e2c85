import { z } from 'zod';
import { count } from '../../common/validation/primitives.js';
import { listPageSchema, listQuery } from '../../common/http/pagination.js';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './password-hash.js';

export const limitsInput = z
  .strictObject({
    rpm: count().nullable().optional().describe('Requests per minute; null = default, 0 = blocked.'),
    tpm: count().nullable().optional().describe('Tokens per minute; null = default, 0 = blocked.'),
  })
  .nullable()
  .describe('Rate limits; null resets both to the configured defaults.');

export const budgetInput = z
  .strictObject({
    amount_usd: z.number().min(0).max(1_000_000_000).describe('Spend allowed per period, in USD.'),
    period: z.enum(['day', 'month', 'total']).describe('Calendar day or month (UTC), or for all time.'),
  })
  .nullable()
  .describe('Spending cap; null removes it.');

export const userIdParams = z.strictObject({ id: z.uuid() });
export type UserIdParams = z.infer<typeof userIdParams>;

/** A user's own tool allow list: tool names and the groups tools.allow takes. */
export const toolsInput = z
  .array(z.string().trim().min(1).max(200))
  .max(500)
  .nullable()
  .describe(
    "Tools this user may use, replacing what tools.allow gives their role: names (`calculator`, `everything.add`), `builtin`, `plugin`, `mcp`, `mcp:<server>` or `*`; null = the role's.",
  );

/** A password as set or presented: never trimmed (spaces count), bounded so that hashing it stays cheap. */
export const passwordInput = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `must be at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(PASSWORD_MAX_LENGTH)
  .describe(`For POST /auth/login: at least ${PASSWORD_MIN_LENGTH} characters. Stored as a scrypt hash, never shown.`);

export const createUserBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  email: z.email().max(320).optional(),
  role: z.enum(['admin', 'user']).default('user'),
  limits: limitsInput.optional(),
  budget: budgetInput.optional(),
  tools: toolsInput.optional(),
  password: passwordInput.optional(),
});
export type CreateUserBody = z.infer<typeof createUserBody>;

export const updateUserBody = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  role: z.enum(['admin', 'user']).optional(),
  disabled: z.boolean().optional(),
  limits: limitsInput.optional(),
  budget: budgetInput.optional(),
  tools: toolsInput.optional(),
  password: passwordInput.nullable().optional().describe("A new password (ends the user's sign-in sessions); null removes it (key sign-in only)."),
});
export type UpdateUserBody = z.infer<typeof updateUserBody>;

export const listUsersQuery = listQuery.extend({
  role: z.enum(['admin', 'user']).optional(),
});
export type ListUsersQuery = z.infer<typeof listUsersQuery>;

export const limitsView = z.object({ rpm: z.number().int().nullable(), tpm: z.number().int().nullable() });
export const budgetView = z.object({ amount_usd: z.number(), period: z.enum(['day', 'month', 'total']) }).nullable();

export const userView = z
  .object({
    id: z.uuid(),
    object: z.literal('user'),
    name: z.string(),
    email: z.string().nullable(),
    role: z.enum(['admin', 'user']),
    disabled: z.boolean(),
    limits: limitsView,
    budget: budgetView,
    tools: z.array(z.string()).nullable().describe("The user's own tool allow list; null = what tools.allow gives the role."),
    has_password: z.boolean().describe('Whether the user can sign in with a password (the password itself is never shown).'),
    created_at: z.number().int().describe('Unix seconds.'),
    updated_at: z.number().int().describe('Unix seconds.'),
  })
  .meta({ id: 'User' });
export type UserView = z.infer<typeof userView>;
export const userList = listPageSchema(userView).meta({ id: 'UserList' });
