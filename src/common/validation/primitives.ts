import { z } from 'zod';

// Schema pieces for the rules every field of their kind needs, so that no route forgets one.
// (NUL characters and nesting depth are refused for every value before any schema runs; see
// storable-input.ts.)

/** The largest value of a PostgreSQL `integer` column. */
export const INT4_MAX = 2_147_483_647;

/** A count stored in an `integer` column: 0 … INT4_MAX unless a smaller maximum is given. */
export const count = (max = INT4_MAX) => z.number().int().min(0).max(max);

/** Free-form metadata: a JSON object of bounded size (its depth is bounded for every value). */
export const metadataObject = (maxBytes = 16_384) =>
  z.record(z.string(), z.unknown()).refine((m) => JSON.stringify(m).length <= maxBytes, `metadata is limited to ${Math.round(maxBytes / 1024)} KB`);

/** The instants PostgreSQL's timestamptz and our reports handle: years 1970 to 9999. */
const EARLIEST = Date.UTC(1970, 0, 1);
const LATEST = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/**
 * An ISO date (YYYY-MM-DD) or timestamp within years 1970–9999. With `endOfDay`, a bare date
 * means the end of that UTC day (the next midnight), so that `to=2026-01-31` includes the 31st.
 */
export const isoInstant = (endOfDay = false) =>
  z
    .string()
    .max(64)
    .refine((v) => !Number.isNaN(Date.parse(v)), 'must be an ISO date (YYYY-MM-DD) or timestamp')
    .refine((v) => {
      const t = Date.parse(v);
      return t >= EARLIEST && t <= LATEST;
    }, 'must be between 1970-01-01 and 9999-12-31')
    .transform((v) => {
      const d = new Date(v);
      return endOfDay && /^\d{4}-\d{2}-\d{2}$/.test(v) ? new Date(d.getTime() + 86_400_000) : d;
    });

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether a conversation reference is an id (a UUID) rather than a key. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * A conversation's id, or the key a client gave it (`conv_abc123`, `story-123`): 1–200 of
 * A–Z a–z 0–9 . _ : @ -. A value shaped like a UUID is always read as an id.
 */
export const conversationRef = () =>
  z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Za-z0-9._:@-]+$/, 'must be a conversation id or a key of letters, digits and . _ : @ -');
