import { UsageError } from './usage-error.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Ids are UUIDs: a typo is a usage error here rather than a 400 from the server. */
export function expectId(value: string, what: string): string {
  if (!UUID.test(value)) throw new UsageError(`"${value}" is not a ${what} id (a UUID)`);
  return value.toLowerCase();
}
