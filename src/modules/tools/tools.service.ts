import { Injectable } from '@nestjs/common';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { DomainError, isDomainError } from '../../common/errors/domain-error.js';
import type { Caller } from '../../common/http/caller.js';
import type { AppLogger } from '../../common/logging/logger.js';
import { InjectLogger } from '../../common/logging/logger.token.js';
import { clientLeft } from '../../common/streaming/answer.js';
import { AppConfig } from '../../config/app-config.js';
import type { ToolCall } from '../../llm/chat-types.js';
import { TokenCounter } from '../../llm/token-counter.js';
import { ConversationsService } from '../conversations/conversations.service.js';
import { trimToTokenBudget } from '../files/documents/token-budget.js';
import { FilesService } from '../files/files.service.js';
import { builtinTools } from './builtin/builtin-tools.js';
import { McpServers, type McpTool } from './mcp/mcp-servers.js';
import { PluginTools } from './plugins/plugin-tools.js';
import { ruleCovers, rulesFor } from './tool-access.js';
import { ToolCallsRepository, type ToolCallRecord } from './tool-calls.repository.js';
import { invalidArguments, type ToolDefinition } from './tool-definition.js';
import type { LoopToolResult, OfferedTool, ToolCallContext, ToolResult, ToolView } from './tool-types.js';
import type { SmartHostCallBody as SmartHostBody } from './tools.schemas.js';

/** What one call came to: its result, or the error that stands for it. */
type Execution = { result: ToolResult; error: null } | { result: null; error: DomainError; durationMs: number };

/** A model's tool call once run: the message content it reads, and the id it answers. */
export interface ExecutedCall extends LoopToolResult {
  toolCallId: string;
  /** The function name the model used (`everything__add`), kept in the stored history. */
  functionName: string;
  /** The start of `text`, for the stream's colloquy.tool_result. */
  preview: string;
}

const PREVIEW_CHARS = 200;

/**
 * The tools a caller may use, from every source (built-in, plugin files, MCP servers), and their
 * execution: argument checks against the tool's JSON Schema, the tools.timeout_ms deadline, the
 * caller's abort, one tool_calls record per call. Transport-neutral: the HTTP routes and the
 * chat's tool loop both call it.
 */
@Injectable()
export class ToolsService {
  private readonly builtins: ToolDefinition[];
  private readonly ajv = new Ajv2020({ strict: false, allErrors: false });
  private readonly validators = new WeakMap<object, ValidateFunction | null>();
  private readonly mcpDefinitions = new WeakMap<object, ToolDefinition>();

  constructor(
    private readonly config: AppConfig,
    private readonly mcp: McpServers,
    private readonly plugins: PluginTools,
    private readonly repo: ToolCallsRepository,
    private readonly tokens: TokenCounter,
    conversations: ConversationsService,
    files: FilesService,
    @InjectLogger() private readonly logger: AppLogger,
  ) {
    (addFormats as unknown as (ajv: Ajv2020) => void)(this.ajv);
    this.builtins = builtinTools({ conversations, files, maxFileTokens: config.tools.maxResultTokens });
  }

  list(caller: Caller): { object: 'list'; data: ToolView[]; tools: string[] } {
    const data = this.visible(caller).map(toView);
    return { object: 'list', data, tools: data.map((t) => t.name) };
  }

  get(caller: Caller, name: string): ToolView {
    return toView(this.find(caller, name));
  }

  /** POST /tools/{name}/call: the result, or the error (400 arguments, 404, 502 tool_failed, 503, 504). */
  async call(caller: Caller, name: string, args: Record<string, unknown>, ctx: ToolCallContext & { signal: AbortSignal }): Promise<ToolResult> {
    const tool = this.find(caller, name);
    const execution = await this.execute(caller, tool, args, ctx.signal);
    await this.record(caller, ctx, [{ tool, execution }]);
    if (execution.error) throw execution.error;
    return execution.result;
  }

  /** Smart-Host's POST /call_tool: positional `args` go onto the schema's properties in order, `kwargs` by name. */
  async callSmartHost(
    caller: Caller,
    body: SmartHostBody,
    ctx: ToolCallContext & { signal: AbortSignal },
  ): Promise<ToolResult & { result: unknown }> {
    const tool = this.find(caller, body.name);
    const properties = Object.keys((tool.inputSchema.properties as Record<string, unknown> | undefined) ?? {});
    if (body.args.length > properties.length) {
      throw invalidArguments(
        `${tool.name} takes at most ${properties.length} positional argument${properties.length === 1 ? '' : 's'}, not ${body.args.length}.`,
      );
    }
    const args: Record<string, unknown> = Object.fromEntries(body.args.map((value, i) => [properties[i], value]));
    const result = await this.call(caller, tool.name, { ...args, ...body.kwargs }, ctx);
    return { result: plainResult(result.content), ...result };
  }

  /**
   * The tools a /chat turn offers the model: `auto` is every available tool the caller may use;
   * named tools must each be one they may use (404 otherwise) and be available (503).
   */
  offer(caller: Caller, selection: readonly string[] | 'auto'): OfferedTool[] {
    const tools =
      selection === 'auto'
        ? this.visible(caller).filter((t) => t.available())
        : [...new Set(selection)].map((name, i) => {
            const tool = this.find(caller, name, `server_tools.${i}`);
            if (!tool.available()) {
              throw new DomainError('upstream_unavailable', `The tool ${name} is unavailable: its MCP server is not connected.`, {
                code: 'tool_unavailable',
                param: `server_tools.${i}`,
              });
            }
            return tool;
          });
    const used = new Set<string>();
    return tools.map((tool) => {
      const functionName = uniqueName(functionNameOf(tool.name), used);
      return {
        name: tool.name,
        functionName,
        definition: { type: 'function', function: { name: functionName, description: tool.description, parameters: tool.inputSchema } },
      };
    });
  }

  /**
   * Runs the server tool calls of one model answer, in parallel. Whatever goes wrong (arguments
   * that do not parse or fit the schema, a tool the caller may not use, a failure, a timeout)
   * becomes an error result for the model, never an exception; only the caller's abort throws.
   * Each result is cut to tools.max_result_tokens, with a visible marker.
   */
  async runForModel(
    caller: Caller,
    calls: readonly ToolCall[],
    offered: readonly OfferedTool[],
    ctx: ToolCallContext & { signal: AbortSignal },
  ): Promise<ExecutedCall[]> {
    const runs = await Promise.all(
      calls.map(async (call) => {
        const name = offered.find((o) => o.functionName === call.function.name)?.name ?? call.function.name.replace('__', '.');
        const tool = this.visible(caller).find((t) => t.name === name) ?? null;
        let execution: Execution;
        if (!tool) {
          // Asked for a tool it was not offered, or one the caller may not use: the same answer.
          execution = { result: null, error: notFound(name), durationMs: 0 };
        } else {
          const args = parseArguments(call.function.arguments);
          execution = isDomainError(args) ? { result: null, error: args, durationMs: 0 } : await this.execute(caller, tool, args, ctx.signal);
        }
        return { call, name, tool, execution };
      }),
    );
    await this.record(
      caller,
      ctx,
      runs.map(({ tool, name, execution }) => ({ tool: tool ?? { name, source: 'unknown' }, execution })),
    );
    // The client left while the tools ran (their signals fired): the loop ends here.
    if (ctx.signal.aborted) throw clientLeft();
    return Promise.all(
      runs.map(async ({ call, name, execution }) => {
        const base = execution.error
          ? {
              content: { error: { code: execution.error.code, message: execution.error.message } },
              is_error: true,
              duration_ms: execution.durationMs,
            }
          : execution.result;
        const text = execution.error ? `Error (${execution.error.code}): ${execution.error.message}` : textOf(base.content, base.is_error);
        const capped = await this.cap(text);
        return { ...base, name, text: capped, toolCallId: call.id, functionName: call.function.name, preview: capped.slice(0, PREVIEW_CHARS) };
      }),
    );
  }

  private async execute(caller: Caller, tool: ToolDefinition, args: Record<string, unknown>, callerSignal: AbortSignal): Promise<Execution> {
    const start = performance.now();
    const elapsed = () => Math.round(performance.now() - start);
    const invalid = this.validate(tool, args);
    if (invalid) return { result: null, error: invalid, durationMs: 0 };
    if (!tool.available()) {
      return {
        result: null,
        error: new DomainError('upstream_unavailable', `The tool ${tool.name} is unavailable: its MCP server is not connected.`, {
          code: 'tool_unavailable',
        }),
        durationMs: 0,
      };
    }
    const timeoutMs = this.config.tools.timeoutMs;
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = AbortSignal.any([callerSignal, deadline]);
    try {
      const output = await untilAborted(tool.run(args, { caller, signal }), signal);
      return { result: { content: output.content, is_error: output.isError === true, duration_ms: elapsed() }, error: null };
    } catch (err) {
      if (callerSignal.aborted) return { result: null, error: clientLeft(), durationMs: elapsed() };
      if (deadline.aborted) {
        return {
          result: null,
          error: new DomainError('upstream_timeout', `The tool ${tool.name} did not finish within ${timeoutMs} ms.`, { code: 'tool_timeout' }),
          durationMs: elapsed(),
        };
      }
      if (isDomainError(err)) return { result: null, error: err, durationMs: elapsed() };
      this.logger.warn({ tool: tool.name, err: (err as Error)?.message }, 'tool failed');
      const message = String((err as Error)?.message ?? err).slice(0, 500);
      return {
        result: null,
        error: new DomainError('upstream_error', `The tool ${tool.name} failed: ${message}`, { code: 'tool_failed' }),
        durationMs: elapsed(),
      };
    }
  }

  /** 400 invalid_tool_arguments naming the first path that fails the tool's schema; null when they fit. */
  private validate(tool: ToolDefinition, args: Record<string, unknown>): DomainError | null {
    let validator = this.validators.get(tool.inputSchema);
    if (validator === undefined) {
      try {
        const { $schema: _ignored, ...schema } = tool.inputSchema;
        validator = this.ajv.compile(schema);
      } catch (err) {
        // A schema the validator cannot read: the tool checks its own arguments.
        this.logger.warn({ tool: tool.name, err: (err as Error).message }, 'tool input schema not usable for validation');
        validator = null;
      }
      this.validators.set(tool.inputSchema, validator);
    }
    if (!validator || validator(args)) return null;
    const issue = validator.errors?.[0];
    const path = (issue?.instancePath ?? '')
      .split('/')
      .filter(Boolean)
      .concat(issue?.keyword === 'required' ? [String((issue.params as { missingProperty?: string }).missingProperty)] : [])
      .concat(issue?.keyword === 'additionalProperties' ? [String((issue.params as { additionalProperty?: string }).additionalProperty)] : []);
    const where = path.length ? `arguments.${path.join('.')}` : 'arguments';
    return invalidArguments(`Invalid arguments for ${tool.name}: ${where} ${issue?.message ?? 'is not valid'}.`, path.join('.') || undefined);
  }

  private async cap(text: string): Promise<string> {
    const max = this.config.tools.maxResultTokens;
    const trimmed = await trimToTokenBudget(text, max, (s) => this.tokens.countText(s));
    if (!trimmed.truncated) return text;
    return `${trimmed.text}\n[truncated by Colloquy: the tool returned ${trimmed.totalTokens} tokens; the first ${trimmed.keptTokens} are shown]`;
  }

  private async record(
    caller: Caller,
    ctx: ToolCallContext,
    runs: Array<{ tool: { name: string; source: string }; execution: Execution }>,
  ): Promise<void> {
    const records: ToolCallRecord[] = runs.map(({ tool, execution }) => ({
      userId: caller.userId,
      requestId: ctx.requestId,
      conversationId: ctx.conversationId ?? null,
      tool: tool.name.slice(0, 200),
      source: tool.source,
      durationMs: execution.error ? execution.durationMs : execution.result.duration_ms,
      ok: !execution.error && !execution.result.is_error,
      errorCode: execution.error ? (execution.error.code ?? execution.error.kind) : execution.result.is_error ? 'tool_error' : null,
    }));
    await this.repo
      .insertMany(records)
      .catch((err: unknown) => this.logger.error({ err: (err as Error).message, requestId: ctx.requestId }, 'tool calls not recorded'));
  }

  /** Every tool the caller may use, available or not. */
  private visible(caller: Caller): ToolDefinition[] {
    const rules = rulesFor(caller, this.config.tools.allow);
    return this.all().filter((tool) => rules.some((rule) => ruleCovers(rule, tool)));
  }

  private find(caller: Caller, name: string, param?: string): ToolDefinition {
    const tool = this.visible(caller).find((t) => t.name === name);
    if (!tool) throw notFound(name, param);
    return tool;
  }

  private all(): ToolDefinition[] {
    return [...this.builtins, ...this.plugins.tools, ...this.mcp.tools().map((t) => this.mcpDefinition(t))];
  }

  private mcpDefinition(entry: McpTool & { available: boolean }): ToolDefinition {
    const known = this.mcpDefinitions.get(entry.tool);
    if (known) return known;
    const { server, tool } = entry;
    const definition: ToolDefinition = {
      name: `${server}.${tool.name}`,
      description: tool.description ?? tool.title ?? '',
      inputSchema: tool.inputSchema,
      source: `mcp:${server}`,
      available: () => this.mcp.tools().some((t) => t.tool === tool && t.available),
      run: (args, { signal }) => this.mcp.call(server, tool.name, args, signal),
    };
    this.mcpDefinitions.set(tool, definition);
    return definition;
  }
}

function toView(tool: ToolDefinition): ToolView {
  return {
    object: 'tool',
    name: tool.name,
    description: tool.description,
    input_schema: tool.inputSchema,
    source: tool.source,
    available: tool.available(),
  };
}

function notFound(name: string, param?: string): DomainError {
  return new DomainError('not_found', `No tool named ${name}.`, { code: 'tool_not_found', ...(param ? { param } : {}) });
}

/** The arguments a model wrote (a JSON object as text), or why they are not one. */
function parseArguments(text: string): Record<string, unknown> | DomainError {
  let value: unknown;
  try {
    value = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    return invalidArguments('The arguments are not valid JSON.');
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : invalidArguments('The arguments must be a JSON object.');
}

/** OpenAI function names allow letters, digits, _ and - (at most 64): `everything.add` → `everything__add`. */
export function functionNameOf(name: string): string {
  return name
    .replace(/\./g, '__')
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .slice(0, 64);
}

function uniqueName(name: string, used: Set<string>): string {
  let candidate = name;
  for (let i = 2; used.has(candidate); i++) candidate = `${name.slice(0, 60)}_${i}`;
  used.add(candidate);
  return candidate;
}

/** MCP content blocks as a model reads them: their text, images and resources named. */
function textOf(content: unknown, isError: boolean): string {
  const body = typeof content === 'string' ? content : isBlocks(content) ? content.map(blockText).join('\n') : JSON.stringify(content ?? null);
  return isError ? `Error: ${body}` : body;
}

function isBlocks(content: unknown): content is Array<Record<string, unknown>> {
  return Array.isArray(content) && content.every((b) => b !== null && typeof b === 'object' && typeof (b as { type?: unknown }).type === 'string');
}

function blockText(block: Record<string, unknown>): string {
  if (block.type === 'text') return str(block.text);
  if (block.type === 'image' || block.type === 'audio') return `[${block.type}: ${str(block.mimeType) || 'unknown type'}]`;
  const resource = block.resource as { text?: unknown; uri?: unknown } | undefined;
  if (block.type === 'resource' && resource) return typeof resource.text === 'string' ? resource.text : `[resource: ${String(resource.uri)}]`;
  if (block.type === 'resource_link') return `[resource: ${String(block.uri)}]`;
  return JSON.stringify(block);
}

/** Smart-Host's `result`: the text of text-only MCP content, else the content as it is. */
function plainResult(content: unknown): unknown {
  if (isBlocks(content) && content.every((b) => b.type === 'text')) return content.map((b) => str(b.text)).join('\n');
  return content;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** The tool's promise, or the signal's reason once it fires (a tool that ignores its signal is not waited for). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
