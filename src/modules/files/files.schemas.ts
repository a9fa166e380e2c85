import { z } from 'zod';
import { listPageSchema, listQuery, queryFlag } from '../../common/http/pagination.js';

export const FILE_PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'] as const;
export const purpose = z.enum(FILE_PURPOSES);

export const fileParams = z.strictObject({ id: z.uuid() });
export type FileParams = z.infer<typeof fileParams>;

export const listFilesQuery = listQuery.extend({
  purpose: purpose.optional(),
  conversation_id: z.uuid().optional().describe('Only files attached to messages of this conversation.'),
});
export type ListFilesQuery = z.infer<typeof listFilesQuery>;

export const contentQuery = z.strictObject({
  download: queryFlag('Stream the bytes even where a presigned URL could be given.'),
});
export type ContentQuery = z.infer<typeof contentQuery>;

export const fileView = z
  .object({
    id: z.uuid(),
    object: z.literal('file'),
    filename: z.string(),
    bytes: z.number().int(),
    created_at: z.number().int(),
    purpose: z.string(),
    status: z.enum(['uploaded', 'processed', 'error']),
    mime_type: z.string().describe('Detected from the content, not the name or the declared type.'),
    kind: z.enum(['pdf', 'docx', 'text', 'image']),
    sha256: z.string(),
    pages: z.number().int().nullable(),
    tokens: z.number().int().nullable().describe('Tokens of the extracted text (documents only).'),
  })
  .meta({ id: 'File' });
export type FileView = z.infer<typeof fileView>;
export const fileList = listPageSchema(fileView).meta({ id: 'FileList' });
export const uploadedFiles = z.object({ object: z.literal('list'), data: z.array(fileView) }).meta({ id: 'UploadedFiles' });

/** OpenAI's file object (what `client.files.*` of the official SDKs expect). */
export const openAIFileView = z
  .object({
    id: z.string(),
    object: z.literal('file'),
    bytes: z.number().int(),
    created_at: z.number().int(),
    filename: z.string(),
    purpose: z.string(),
    status: z.enum(['uploaded', 'processed', 'error']),
  })
  .meta({ id: 'OpenAIFile' });
export type OpenAIFileView = z.infer<typeof openAIFileView>;
export const deletedFileView = z.object({ id: z.string(), object: z.literal('file'), deleted: z.literal(true) }).meta({ id: 'DeletedFile' });
