import { z } from 'zod';
import { DomainError } from '../errors/domain-error.js';
import type { Caller } from './caller.js';

/**
 * The user a `/users/{id}/…` route is about: `me` is the caller; another id is allowed only to
 * admins, and reads as 404 to anyone else (so ids of other users cannot be probed).
 */
export function resolveOwner(caller: Caller, id: string): string {
  if (id === 'me' || id === caller.userId) return caller.userId;
  if (caller.role === 'admin') return id;
  throw new DomainError('not_found', `No user with id ${id}.`);
}

/** Whether the caller may read a resource owned by `ownerId` (its owner, or an admin). */
export function canRead(caller: Caller, ownerId: string): boolean {
  return ownerId === caller.userId || caller.role === 'admin';
}

/** `/users/{id}/…` path parameters: `me` or a user id. */
export const ownerParams = z.strictObject({ id: z.union([z.literal('me'), z.uuid()]) });
export type OwnerParams = z.infer<typeof ownerParams>;
