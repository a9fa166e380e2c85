import { z } from 'zod';
import { listPageSchema, listQuery } from '../../common/http/pagination.js';

export const MAX_MEMORY_CHARS = 2_000;

export const memoryIdParams = z.strictObject({ id: z.uuid() });
export type MemoryIdParams = z.infer<typeof memoryIdParams>;

export const createMemoryBody = z.strictObject({
  content: z.string().trim().min(1).max(MAX_MEMORY_CHARS).describe('What to remember, in a sentence or two.'),
});
export type CreateMemoryBody = z.infer<typeof createMemoryBody>;

export const listMemoriesQuery = listQuery;
export type ListMemoriesQuery = z.infer<typeof listMemoriesQuery>;

export const memoryView = z
  .object({
    id: z.uuid(),
    object: z.literal('memory'),
    content: z.string(),
    source: z.enum(['api', 'chat']).describe('Added through POST /memories, or saved from a /chat turn (save_memory).'),
    conversation_id: z.uuid().nullable(),
    tokens: z.number().int(),
    created_at: z.number().int(),
  })
  .meta({ id: 'Memory' });
export type MemoryView = z.infer<typeof memoryView>;
export const memoryList = listPageSchema(memoryView).meta({ id: 'MemoryList' });

export const deletedMemoriesView = z
  .object({ object: z.literal('memory.deleted'), id: z.uuid().nullable(), deleted: z.number().int().describe('How many were forgotten.') })
  .meta({ id: 'DeletedMemories' });
export type DeletedMemoriesView = z.infer<typeof deletedMemoriesView>;
