import { DomainError } from '../../common/errors/domain-error.js';
import type { Caller } from '../../common/http/caller.js';
import type { ToolSource } from './tool-types.js';

/** What a running tool is given: who asked, and a signal that fires on abort or timeout. */
export interface ToolRunContext {
  caller: Caller;
  signal: AbortSignal;
}

/** What a tool produced: text or JSON, and whether the tool itself reports a failure (MCP's isError). */
export interface ToolOutput {
  content: unknown;
  isError?: boolean;
}

/**
 * A tool of any source as the service runs it. `run` throws a DomainError with code
 * `invalid_tool_arguments` for arguments it cannot use (never a made-up result); anything else
 * it throws is the tool failing.
 */
export interface ToolDefinition {
  /** The API name: `calculator`, `<server>.<tool>`. */
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  source: ToolSource;
  /** False while its MCP server is not connected. */
  available(): boolean;
  run(args: Record<string, unknown>, ctx: ToolRunContext): Promise<ToolOutput>;
}

/** Arguments a tool cannot use: 400 `invalid_tool_arguments`, naming the argument at fault. */
export function invalidArguments(message: string, path?: string): DomainError {
  return new DomainError('invalid', message, { code: 'invalid_tool_arguments', param: path ? `arguments.${path}` : 'arguments' });
}
