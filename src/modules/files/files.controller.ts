import { Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../../common/http/caller.js';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import { CurrentUser } from '../../common/http/current-user.decorator.js';
import { formParts } from '../../common/http/multipart.js';
import { AcceptsMultipart } from '../../common/http/route-access.js';
import type { ListPage } from '../../common/http/pagination.js';
import { sendFile } from './file-download.js';
import {
  contentQuery,
  deletedFileView,
  fileList,
  fileParams,
  fileView,
  listFilesQuery,
  uploadedFiles,
  type ContentQuery,
  type FileParams,
  type FileView,
  type ListFilesQuery,
} from './files.schemas.js';
import { FilesService } from './files.service.js';

@ApiTags('Files')
@ApiBearerAuth()
@Controller('files')
export class FilesController {
  constructor(private readonly files: FilesService) {}

  @Post('upload')
  @HttpCode(201)
  @AcceptsMultipart()
  @ApiConsumes('multipart/form-data')
  @ApiOperation({
    summary: 'Upload files',
    description:
      'multipart/form-data with one or more parts named `file` or `files` and an optional `purpose`. The type is detected ' +
      'from the content (PDF, DOCX, text, Markdown, CSV, JSON, PNG, JPEG, WebP, GIF); documents have their text ' +
      'extracted. 422 for a password-protected or damaged document, a PDF over `MAX_PDF_PAGES` pages, one that takes ' +
      'longer than `EXTRACTION_TIMEOUT_MS` to read, and a DOCX that would expand past `MAX_UNZIPPED_MB` or whose archive ' +
      'could be read two ways. All or nothing: if one file is refused, none is kept.',
  })
  @ApiOk(uploadedFiles, 201)
  @ApiErrors(400, 413, 415, 422)
  async upload(@CurrentUser() caller: Caller, @Req() request: FastifyRequest): Promise<{ object: 'list'; data: FileView[] }> {
    return { object: 'list', data: await this.files.upload(caller, formParts(request)) };
  }

  @Get()
  @ApiOperation({ summary: 'List your files', description: 'Filter by `purpose` or by `conversation_id` (files attached to it).' })
  @ApiOk(fileList)
  @ApiErrors(400)
  list(@CurrentUser() caller: Caller, @Query({ schema: listFilesQuery }) query: ListFilesQuery): Promise<ListPage<FileView>> {
    return this.files.list(caller, query);
  }

  @Get(':id')
  @ApiOperation({ summary: "A file's metadata", description: 'Name, detected type, size, sha256, pages and tokens of its text.' })
  @ApiOk(fileView)
  @ApiErrors(400, 404)
  get(@CurrentUser() caller: Caller, @Param({ schema: fileParams }) { id }: FileParams): Promise<FileView> {
    return this.files.get(caller, id);
  }

  @Get(':id/content')
  @ApiOperation({
    summary: "A file's bytes",
    description: 'Streamed from local storage; on S3, a 302 to a short-lived presigned URL (add `download=true` to stream instead).',
  })
  @ApiProduces('application/octet-stream')
  @ApiResponse({ status: 200, description: 'The bytes.' })
  @ApiResponse({ status: 302, description: 'Redirect to a presigned URL (S3).' })
  @ApiErrors(400, 404)
  async content(
    @CurrentUser() caller: Caller,
    @Param({ schema: fileParams }) { id }: FileParams,
    @Query({ schema: contentQuery }) query: ContentQuery,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await sendFile(reply, await this.files.content(caller, id, query.download === true));
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete a file', description: 'Removes the bytes and the record; messages that used it keep their text.' })
  @ApiOk(deletedFileView)
  @ApiErrors(400, 404)
  remove(@CurrentUser() caller: Caller, @Param({ schema: fileParams }) { id }: FileParams) {
    return this.files.remove(caller, id);
  }
}
