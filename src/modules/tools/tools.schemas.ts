import { z } from 'zod';

/** An API tool name: a built-in or plugin name, or `<server>.<tool>`. */
const toolName = z.string().min(1).max(200);

export const toolNameParams = z.strictObject({ name: toolName.describe('`calculator`, or `<server>.<tool>` for an MCP tool.') });
export type ToolNameParams = z.infer<typeof toolNameParams>;

const argumentsObject = z.record(z.string(), z.unknown());

export const callToolBody = z
  .strictObject({
    arguments: argumentsObject.default({}).describe("The tool's arguments, as its input_schema describes them."),
  })
  .meta({ id: 'CallToolRequest' });
export type CallToolBody = z.infer<typeof callToolBody>;

export const smartHostCallBody = z
  .strictObject({
    name: toolName.describe('The tool to call.'),
    args: z.array(z.unknown()).max(100).default([]).describe("Positional arguments, mapped onto the schema's properties in order."),
    kwargs: argumentsObject.default({}).describe('Named arguments; they win over a positional one for the same property.'),
  })
  .meta({ id: 'SmartHostCallToolRequest' });
export type SmartHostCallBody = z.infer<typeof smartHostCallBody>;

export const toolView = z
  .object({
    object: z.literal('tool'),
    name: z.string(),
    description: z.string(),
    input_schema: z.record(z.string(), z.unknown()).describe('JSON Schema of the arguments object.'),
    source: z.string().describe('`builtin`, `plugin`, or `mcp:<server>`.'),
    available: z.boolean().describe('False while its MCP server is not connected.'),
  })
  .meta({ id: 'Tool' });

export const toolList = z
  .object({
    object: z.literal('list'),
    data: z.array(toolView),
    tools: z.array(z.string()).describe("The names alone, as Smart-Host's GET /tools answers them."),
  })
  .meta({ id: 'ToolList' });

const resultFields = {
  content: z.unknown().describe("What the tool returned: text, JSON, or an MCP server's content blocks."),
  is_error: z.boolean().describe('True when the tool ran and reported a failure (an MCP result with isError).'),
  duration_ms: z.number().int(),
};
export const toolResultView = z.object(resultFields).meta({ id: 'ToolResult' });
export const smartHostResultView = z
  .object({ result: z.unknown().describe("Smart-Host's plain result: the text, or the JSON value."), ...resultFields })
  .meta({ id: 'SmartHostToolResult' });
export type SmartHostResultView = z.infer<typeof smartHostResultView>;
