import { z } from 'zod';
import { userView } from '../users/users.schemas.js';

/** GET /me, and the `user` of a sign-in: the user and the key its requests act through. */
export const meView = userView.extend({ key: z.object({ id: z.uuid() }).describe('The key this request used.') }).meta({ id: 'Me' });
export type MeView = z.infer<typeof meView>;
