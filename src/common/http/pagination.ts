import { z } from 'zod';

/** A `true`/`false` query parameter as a boolean (query strings carry text). */
export function queryFlag(description: string) {
  return z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => (v === undefined ? undefined : v === 'true'))
    .describe(description);
}

/** OpenAI's list convention: ?limit (1-100, default 20), ?after=<id>, ?order=asc|desc. */
export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20).describe('How many items to return (1-100).'),
  after: z.uuid().optional().describe('Return the items after this id (the `last_id` of the previous page).'),
  order: z.enum(['asc', 'desc']).default('desc').describe('Sort by creation time.'),
});
export type ListQuery = z.infer<typeof listQuery>;

export interface ListPage<T> {
  object: 'list';
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

/** Ids are time-ordered (UUIDv7), so the cursor condition and the sort key are the id itself. */
export function cursorWhere(query: ListQuery): { id?: { gt: string } | { lt: string } } {
  if (!query.after) return {};
  return { id: query.order === 'asc' ? { gt: query.after } : { lt: query.after } };
}

export function cursorOrder(query: ListQuery): { id: 'asc' | 'desc' } {
  return { id: query.order };
}

/** Rows fetched with `take: limit + 1`; the extra row only tells whether there is more. */
export function toPage<R extends { id: string }, V>(rows: R[], query: ListQuery, view: (row: R) => V): ListPage<V> {
  const hasMore = rows.length > query.limit;
  const page = hasMore ? rows.slice(0, query.limit) : rows;
  return {
    object: 'list',
    data: page.map(view),
    first_id: page[0]?.id ?? null,
    last_id: page.at(-1)?.id ?? null,
    has_more: hasMore,
  };
}

export function listPageSchema<T extends z.ZodType>(item: T) {
  return z.object({
    object: z.literal('list'),
    data: z.array(item),
    first_id: z.string().nullable(),
    last_id: z.string().nullable(),
    has_more: z.boolean(),
  });
}
