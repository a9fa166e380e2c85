import type { Caller } from '../../common/http/caller.js';
import type { ToolSource } from './tool-types.js';

/**
 * Whether a rule of tools.allow (or of a user's own list) covers a tool: `*` everything, `builtin`
 * and `plugin` their sources, `mcp` every MCP tool, `mcp:<server>` one server's, else an exact name.
 */
export function ruleCovers(rule: string, tool: { name: string; source: ToolSource }): boolean {
  if (rule === '*' || rule === tool.name) return true;
  if (rule === 'builtin' || rule === 'plugin') return tool.source === rule;
  if (rule === 'mcp') return tool.source.startsWith('mcp:');
  return rule.startsWith('mcp:') && tool.source === rule;
}

/** The rules that apply to a caller: their own list when set, else their role's. */
export function rulesFor(caller: Caller, allow: { user: string[]; admin: string[] }): readonly string[] {
  return caller.tools ?? allow[caller.role];
}
