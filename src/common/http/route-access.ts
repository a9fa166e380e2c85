import { SetMetadata } from '@nestjs/common';

export const PUBLIC_ROUTE = 'colloquy:public';
export const ADMIN_ROUTE = 'colloquy:admin';

/** The route answers without an API key (health probes, the index). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(PUBLIC_ROUTE, true);

/** Only callers whose user has the admin role may use the route; others get 403. */
export const AdminOnly = (): MethodDecorator & ClassDecorator => SetMetadata(ADMIN_ROUTE, true);

export const GUEST_ROUTE = 'colloquy:guest';

/**
 * With guest access on, a request without an Authorization header may use the route as the guest
 * user; on any other route such a request gets 403. Only stateless routes carry it: guests share
 * one account, so nothing they could list or read may be stored under it.
 */
export const GuestAllowed = (): MethodDecorator & ClassDecorator => SetMetadata(GUEST_ROUTE, true);

export const MULTIPART_ROUTE = 'colloquy:multipart';

/** The route reads multipart/form-data; elsewhere a multipart body gets 415. */
export const AcceptsMultipart = (): MethodDecorator & ClassDecorator => SetMetadata(MULTIPART_ROUTE, true);
