import { SetMetadata } from '@nestjs/common';

export const PUBLIC_ROUTE = 'colloquy:public';
export const ADMIN_ROUTE = 'colloquy:admin';

/** The route answers without an API key (health probes, the index). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);

/** Only callers whose user has the admin role may use the route; others get 403. */
export const AdminOnly = (): MethodDecorator & ClassDecorator => SetMetadata(ADMIN_ROUTE, true);

export const GUEST_ROUTE = 'colloquy:guest';

/**
 * A stateless route (it stores nothing a caller could list or read): with guest access limited to
 * them (`guest.scope: stateless`), a request without an Authorization header may use it as the
 * guest user, and gets 403 on every other route.
 */
export const GuestAllowed = (): MethodDecorator & ClassDecorator => SetMetadata(GUEST_ROUTE, true);

export const MULTIPART_ROUTE = 'colloquy:multipart';

/** The route reads multipart/form-data; elsewhere a multipart body gets 415. */
export const AcceptsMultipart = (): MethodDecorator & ClassDecorator => SetMetadata(MULTIPART_ROUTE, true);
