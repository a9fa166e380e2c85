/**
 * The shapes of the tools feature that other modules see: what a tool is to a caller, what a call
 * gives back, and what the chat's tool loop needs to offer tools to a model and run them.
 */

/** Where a tool comes from: built in, an MCP server (`mcp:<server>`), or a plugin file. */
export type ToolSource = 'builtin' | 'plugin' | `mcp:${string}`;

/** A tool as GET /tools shows it. */
export interface ToolView {
  object: 'tool';
  /** The API name: `calculator`, `<server>.<tool>` for MCP tools. */
  name: string;
  description: string;
  /** JSON Schema of the arguments object. */
  input_schema: Record<string, unknown>;
  source: ToolSource;
  /** False while its MCP server is not connected. */
  available: boolean;
}

/** What one call of a tool produced. */
export interface ToolResult {
  /** Text, or the tool's structured content (MCP content blocks, a plugin's JSON). */
  content: unknown;
  is_error: boolean;
  duration_ms: number;
}

/** A tool offered to a model: its function name (no dots) and the API name it stands for. */
export interface OfferedTool {
  /** The API name (`everything.add`). */
  name: string;
  /** The name the model sees (`everything__add`). */
  functionName: string;
  /** The OpenAI function tool definition sent upstream. */
  definition: { type: 'function'; function: { name: string; description: string; parameters: Record<string, unknown> } };
}

/** Where a tool call came from, for its record. */
export interface ToolCallContext {
  requestId: string;
  conversationId?: string | null;
}

/** What the loop hands back to the model for one executed call: text (truncated to the cap, with a marker) and whether it failed. */
export interface LoopToolResult extends ToolResult {
  /** The API name of the tool that ran (or was asked for). */
  name: string;
  /** The `tool` message content sent to the model. */
  text: string;
}
