import { Body, Controller, Get, HttpCode, Param, Post, Res, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { Caller } from '../../common/http/caller.js';
import { ApiErrors, ApiOk } from '../../common/http/api-docs.js';
import { callSession } from '../../common/http/call-session.js';
import { CurrentUser } from '../../common/http/current-user.decorator.js';
import { RateLimitGuard } from '../access/rate-limit.guard.js';
import type { ToolResult, ToolView } from './tool-types.js';
import {
  callToolBody,
  smartHostCallBody,
  smartHostResultView,
  toolList,
  toolNameParams,
  toolResultView,
  toolView,
  type CallToolBody,
  type SmartHostCallBody,
  type SmartHostResultView,
  type ToolNameParams,
} from './tools.schemas.js';
import { ToolsService } from './tools.service.js';

const CALL_ERRORS =
  'Arguments that fail the schema or that the tool cannot use: 400 `invalid_tool_arguments` (with the failing path in `param`). ' +
  'A tool you may not use is 404 `tool_not_found`, as one that does not exist. A tool that throws: 502 `tool_failed`; ' +
  'one that passes TOOLS_TIMEOUT_MS: 504 `tool_timeout`; an MCP server that is down: 503 `tool_unavailable`. ' +
  'A tool that ran and reported a failure (an MCP result with isError) answers 200 with `is_error: true`.';

@ApiTags('Tools')
@ApiBearerAuth()
@Controller()
export class ToolsController {
  constructor(private readonly tools: ToolsService) {}

  @Get('tools')
  @ApiOperation({
    summary: 'List the tools you may use',
    description:
      'Built-in tools, plugin tools (TOOLS_PLUGINS_DIR) and the tools of the configured MCP servers (`<server>.<tool>`), ' +
      'as tools.allow (or your own list, PATCH /users/{id} `tools`) lets you use them. `tools` repeats the names alone, as Smart-Host answers.',
  })
  @ApiOk(toolList)
  @ApiErrors()
  list(@CurrentUser() caller: Caller): { object: 'list'; data: ToolView[]; tools: string[] } {
    return this.tools.list(caller);
  }

  @Get('tools/:name')
  @ApiOperation({ summary: 'One tool', description: 'Its description, input schema, source and availability.' })
  @ApiOk(toolView)
  @ApiErrors(404)
  get(@CurrentUser() caller: Caller, @Param({ schema: toolNameParams }) { name }: ToolNameParams): ToolView {
    return this.tools.get(caller, name);
  }

  @Post('tools/:name/call')
  @HttpCode(200)
  @UseGuards(RateLimitGuard)
  @ApiOperation({ summary: 'Call a tool', description: CALL_ERRORS })
  @ApiOk(toolResultView)
  @ApiErrors(400, 404, 429, 502, 503, 504)
  call(
    @CurrentUser() caller: Caller,
    @Param({ schema: toolNameParams }) { name }: ToolNameParams,
    @Body({ schema: callToolBody }) body: CallToolBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ToolResult> {
    const { requestId, signal } = callSession(reply);
    return this.tools.call(caller, name, body.arguments, { requestId, signal });
  }

  @Post('call_tool')
  @HttpCode(200)
  @UseGuards(RateLimitGuard)
  @ApiOperation({
    summary: "Call a tool (Smart-Host's route)",
    description: `\`{"name", "args": [], "kwargs": {}}\`: positional \`args\` are mapped onto the tool's input_schema properties in order. Answers Smart-Host's \`result\` (the text, or the JSON value) with \`content\`, \`is_error\` and \`duration_ms\`. ${CALL_ERRORS}`,
  })
  @ApiOk(smartHostResultView)
  @ApiErrors(400, 404, 429, 502, 503, 504)
  callSmartHost(
    @CurrentUser() caller: Caller,
    @Body({ schema: smartHostCallBody }) body: SmartHostCallBody,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<SmartHostResultView> {
    const { requestId, signal } = callSession(reply);
    return this.tools.callSmartHost(caller, body, { requestId, signal });
  }
}
