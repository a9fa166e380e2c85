import { z } from 'zod';
import { passwordInput } from '../users/users.schemas.js';
import { meView } from '../auth/me.schemas.js';

/** A presented password is only bounded: a too-short one is simply wrong (the generic 401), never a hint. */
const presentedPassword = z.string().min(1).max(1024);

export const loginBody = z.union([
  z.strictObject({
    name_or_email: z.string().trim().min(1).max(320).describe("The user's email (any case) or exact name."),
    password: presentedPassword,
  }),
  z.strictObject({ api_key: z.string().min(1).max(256).describe('An API key of the user (the session acts through it).') }),
]);
export type LoginBody = z.infer<typeof loginBody>;

export const signedInView = z
  .object({
    user: meView,
    csrf_token: z.string().describe('Send it as `x-csrf-token` on every cookie-authenticated request other than GET, HEAD and OPTIONS.'),
  })
  .meta({ id: 'SignedIn' });
export type SignedInView = z.infer<typeof signedInView>;

export const signedOutView = z.object({ object: z.literal('auth.session'), signed_out: z.literal(true) }).meta({ id: 'SignedOut' });
export type SignedOutView = z.infer<typeof signedOutView>;

export const changePasswordBody = z.strictObject({
  current_password: presentedPassword.optional().describe('Required once the user has a password; left out only to set the first one.'),
  password: passwordInput,
});
export type ChangePasswordBody = z.infer<typeof changePasswordBody>;

export const passwordChangedView = z.object({ object: z.literal('user.password'), changed: z.literal(true) }).meta({ id: 'PasswordChanged' });
export type PasswordChangedView = z.infer<typeof passwordChangedView>;
