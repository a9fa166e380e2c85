import { Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiConsumes, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../../common/http/caller.js';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import { CurrentUser } from '../../common/http/current-user.decorator.js';
import { formParts } from '../../common/http/multipart.js';
import { listPageSchema, type ListPage } from '../../common/http/pagination.js';
import { AcceptsMultipart } from '../../common/http/route-access.js';
import { sendFile } from './file-download.js';
import {
  deletedFileView,
  fileParams,
  listFilesQuery,
  openAIFileView,
  type FileParams,
  type ListFilesQuery,
  type OpenAIFileView,
} from './files.schemas.js';
import { FilesService, toOpenAIFile } from './files.service.js';

/** OpenAI's Files API over the same store, so `client.files.*` of the official SDKs work. */
@ApiTags('OpenAI-compatible')
@ApiBearerAuth()
@Controller('v1/files')
export class OpenAIFilesController {
  constructor(private readonly files: FilesService) {}

  @Post()
  @HttpCode(200)
  @AcceptsMultipart()
  @ApiConsumes('multipart/form-data')
  @ApiOperation({ summary: 'Upload a file (OpenAI-compatible)', description: 'Parts `file` and `purpose`, as OpenAI takes them.' })
  @ApiOk(openAIFileView)
  @ApiErrors(400, 413, 415, 422)
  async create(@CurrentUser() caller: Caller, @Req() request: FastifyRequest): Promise<OpenAIFileView> {
    const [file] = await this.files.upload(caller, formParts(request), { requirePurpose: true, single: true });
    return toOpenAIFile(file);
  }

  @Get()
  @ApiOperation({ summary: 'List files (OpenAI-compatible)' })
  @ApiOk(listPageSchema(openAIFileView))
  @ApiErrors(400)
  async list(@CurrentUser() caller: Caller, @Query({ schema: listFilesQuery }) query: ListFilesQuery): Promise<ListPage<OpenAIFileView>> {
    const page = await this.files.list(caller, query);
    return { ...page, data: page.data.map(toOpenAIFile) };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Retrieve a file (OpenAI-compatible)' })
  @ApiOk(openAIFileView)
  @ApiErrors(400, 404)
  async get(@CurrentUser() caller: Caller, @Param({ schema: fileParams }) { id }: FileParams): Promise<OpenAIFileView> {
    return toOpenAIFile(await this.files.get(caller, id));
  }

  @Get(':id/content')
  @ApiOperation({ summary: "A file's bytes (OpenAI-compatible)", description: 'Always streamed.' })
  @ApiProduces('application/octet-stream')
  @ApiResponse({ status: 200, description: 'The bytes.' })
  @ApiErrors(400, 404)
  async content(@CurrentUser() caller: Caller, @Param({ schema: fileParams }) { id }: FileParams, @Res() reply: FastifyReply): Promise<void> {
    await sendFile(reply, await this.files.content(caller, id, true));
  }

  @Delete(':id')
  @ApiOperation({ summary: 'Delete a file (OpenAI-compatible)' })
  @ApiOk(deletedFileView)
  @ApiErrors(400, 404)
  remove(@CurrentUser() caller: Caller, @Param({ schema: fileParams }) { id }: FileParams) {
    return this.files.remove(caller, id);
  }
}
