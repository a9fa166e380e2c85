import type { ConversationsService } from '../../conversations/conversations.service.js';
import type { FilesService } from '../../files/files.service.js';
import { invalidArguments, type ToolDefinition, type ToolOutput } from '../tool-definition.js';
import { evaluate, ExpressionError } from './calculator.js';

/** What the built-in tools read: the caller's own conversations and files. */
export interface BuiltinDeps {
  conversations: Pick<ConversationsService, 'searchMessages'>;
  files: Pick<FilesService, 'textOf'>;
  /** The most of a file read_file returns, in tokens (tools.max_result_tokens). */
  maxFileTokens: number;
}

/** The tools every installation has, needing no setup. */
export function builtinTools(deps: BuiltinDeps): ToolDefinition[] {
  const always = () => true;
  return [
    {
      name: 'current_time',
      description: 'The current date and time in an IANA time zone (default UTC), with its UTC offset and weekday.',
      inputSchema: {
        type: 'object',
        properties: { timezone: { type: 'string', description: 'An IANA time zone such as Europe/Paris or America/New_York; default UTC.' } },
        additionalProperties: false,
      },
      source: 'builtin',
      available: always,
      run: async (args) => ({ content: currentTime(typeof args.timezone === 'string' ? args.timezone : 'UTC') }),
    },
    {
      name: 'calculator',
      description:
        'Evaluates an arithmetic expression exactly as written: + - * / % ^, parentheses, pi, e, and sqrt abs sin cos tan ln log exp floor ceil round min max pow.',
      inputSchema: {
        type: 'object',
        properties: { expression: { type: 'string', minLength: 1, maxLength: 1000, description: 'For example (2 + 3) * 4 ^ 2 or sqrt(2) / 2.' } },
        required: ['expression'],
        additionalProperties: false,
      },
      source: 'builtin',
      available: always,
      run: async (args) => {
        try {
          const expression = String(args.expression);
          return { content: { expression, result: evaluate(expression) } };
        } catch (err) {
          if (err instanceof ExpressionError) throw invalidArguments(`The expression cannot be evaluated: ${err.message}`, 'expression');
          throw err;
        }
      },
    },
    {
      name: 'search_conversations',
      description: "Full-text search over the caller's own conversation messages: conversation ids, titles and matching snippets, newest first.",
      inputSchema: {
        type: 'object',
        properties: {
          query: { type: 'string', minLength: 1, maxLength: 200, description: 'Words to find (case-insensitive).' },
          limit: { type: 'integer', minimum: 1, maximum: 20, default: 5, description: 'Most conversations returned.' },
        },
        required: ['query'],
        additionalProperties: false,
      },
      source: 'builtin',
      available: always,
      run: async (args, { caller }): Promise<ToolOutput> => {
        const query = String(args.query).trim();
        if (!query) throw invalidArguments('The query is empty.', 'query');
        const results = await deps.conversations.searchMessages(caller, query, typeof args.limit === 'number' ? args.limit : 5);
        return { content: { query, results } };
      },
    },
    {
      name: 'read_file',
      description: "The extracted text of one of the caller's own uploaded files (PDF, DOCX, text), cut to a token budget.",
      inputSchema: {
        type: 'object',
        properties: {
          file_id: { type: 'string', format: 'uuid', description: 'The id of an uploaded file (GET /files).' },
          max_tokens: { type: 'integer', minimum: 1, description: 'Most tokens of text returned (at most the server cap).' },
        },
        required: ['file_id'],
        additionalProperties: false,
      },
      source: 'builtin',
      available: always,
      run: async (args, { caller }) => {
        const cap = Math.min(deps.maxFileTokens, typeof args.max_tokens === 'number' ? args.max_tokens : deps.maxFileTokens);
        return { content: await deps.files.textOf(caller, String(args.file_id), cap) };
      },
    },
  ];
}

/** The time now in `timeZone`, or invalid_tool_arguments for a zone that does not exist. */
export function currentTime(timeZone: string, now = new Date()): Record<string, unknown> {
  let parts: Intl.DateTimeFormatPart[];
  try {
    parts = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
      weekday: 'long',
      timeZoneName: 'longOffset',
    }).formatToParts(now);
  } catch {
    throw invalidArguments(`Unknown time zone '${timeZone}': use an IANA name such as Europe/Paris.`, 'timezone');
  }
  const part = (type: Intl.DateTimeFormatPartTypes) => parts.find((p) => p.type === type)?.value ?? '';
  const offset = part('timeZoneName').replace(/^GMT$/, 'GMT+00:00').replace('GMT', '');
  const local = `${part('year')}-${part('month')}-${part('day')}T${part('hour')}:${part('minute')}:${part('second')}${offset}`;
  return {
    timezone: timeZone,
    datetime: local,
    utc: now.toISOString(),
    unix: Math.floor(now.getTime() / 1000),
    weekday: part('weekday'),
    utc_offset: offset,
  };
}
