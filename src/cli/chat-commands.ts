import type { ApiClient, ListPage } from './api-client.js';
import type { ConversationInfo, FileInfo, ModelInfo } from './api-types.js';
import { uploadFiles } from './attachments.js';
import { conversationTable, conversationTranscript, loadConversation } from './commands/conversations.command.js';
import { isPersona } from './commands/models.command.js';
import { formatBytes, formatCount, formatUsd } from './format.js';
import { expectId } from './ids.js';
import type { Style } from './style.js';

/** What an interactive session remembers between turns. */
export interface ChatState {
  conversationId: string | null;
  /** Chosen with --model or /model; null: the conversation's model, else the server default. */
  model: string | null;
  persona: string | null;
  /** The model that gave the last answer (the server default is not otherwise known). */
  answeredBy: string | null;
  /** Uploaded with /file, sent with the next message. */
  pending: FileInfo[];
  spent: { usd: number; answers: number; promptTokens: number; completionTokens: number };
}

export interface ChatCommandContext {
  client: ApiClient;
  state: ChatState;
  style: Style;
  print: (text: string) => void;
  /** Ctrl-C aborts the command's requests. */
  signal: AbortSignal;
  /** GET /v1/models, fetched once. */
  models: () => Promise<ModelInfo[]>;
}

interface ChatCommand {
  name: string;
  args?: string;
  help: string;
  run(ctx: ChatCommandContext, arg: string): Promise<'exit' | void>;
}

export function describeModel(state: ChatState): string {
  const model = state.model ?? state.answeredBy ?? 'server default';
  return state.persona ? `${model} as ${state.persona}` : model;
}

function fileLine(file: FileInfo): string {
  const facts = [file.mime_type, formatBytes(file.bytes)];
  if (file.pages != null) facts.push(`${file.pages} page${file.pages === 1 ? '' : 's'}`);
  if (file.tokens != null) facts.push(`${formatCount(file.tokens)} tokens`);
  return `📎 ${file.filename} (${facts.join(', ')})`;
}

export const CHAT_COMMANDS: ChatCommand[] = [
  {
    name: 'new',
    help: 'start a new conversation',
    async run({ state, print }) {
      state.conversationId = null;
      print('New conversation: it starts with your next message.\n');
    },
  },
  {
    name: 'model',
    args: '[M]',
    help: 'switch the model, or show it and list them',
    async run({ state, print, style, models }, arg) {
      const list = (await models()).filter((m) => !isPersona(m));
      if (!arg) {
        print(`Model: ${describeModel(state)}\n${style.dim(`Available: ${list.map((m) => m.id).join(', ')}`)}\n`);
        return;
      }
      state.model = arg;
      const known = (await models()).some((m) => m.id === arg);
      print(`Model: ${describeModel(state)}${known ? '' : style.dim(" (not in the server's list: the next answer will tell)")}\n`);
    },
  },
  {
    name: 'persona',
    args: '[P|none]',
    help: 'switch the persona, or show it and list them',
    async run({ state, print, style, models }, arg) {
      const list = (await models()).filter(isPersona);
      if (!arg) {
        print(`Persona: ${state.persona ?? 'none'}\n${list.map((m) => style.dim(`  ${m.id}  ${m.description ?? ''}`.trimEnd())).join('\n')}\n`);
        return;
      }
      if (arg === 'none' || arg === 'off') {
        state.persona = null;
        // The server keeps a conversation's persona when a request names none.
        print(`Persona: none${state.conversationId ? style.dim(' (a conversation keeps the persona it began with: /new to start without)') : ''}\n`);
        return;
      }
      if (!list.some((m) => m.id === arg)) {
        print(`Unknown persona "${arg}": /persona lists them.\n`);
        return;
      }
      state.persona = arg;
      print(`Persona: ${arg}\n`);
    },
  },
  {
    name: 'file',
    args: 'PATH',
    help: 'attach a file to your next message (/file alone lists them, /file --clear drops them)',
    async run({ client, state, print, signal }, arg) {
      if (arg === '--clear') {
        state.pending = [];
        print('No files attached.\n');
      } else if (!arg) {
        print(state.pending.length ? `${state.pending.map(fileLine).join('\n')}\n` : 'No files attached: /file PATH attaches one.\n');
      } else {
        const [file] = await uploadFiles(client, [arg], signal);
        state.pending.push(file);
        print(`${fileLine(file)}: it goes with your next message\n`);
      }
    },
  },
  {
    name: 'history',
    help: "this conversation's messages",
    async run({ client, state, print, style, signal }) {
      if (!state.conversationId) return void print('No messages yet: this conversation starts with your next message.\n');
      print(conversationTranscript(await loadConversation(client, state.conversationId, signal), style));
    },
  },
  {
    name: 'conversations',
    help: 'your recent conversations',
    async run({ client, state, print, style, signal }) {
      const page = await client.get<ListPage<ConversationInfo>>('/conversations', { limit: 10 }, signal);
      if (!page.data.length) return void print('No conversations yet.\n');
      print(conversationTable(page.data, state.conversationId) + style.dim('/open ID continues one.') + '\n');
    },
  },
  {
    name: 'open',
    args: 'ID',
    help: 'continue another conversation',
    async run({ client, state, print, signal }, arg) {
      const conversation = await client.get<ConversationInfo>(`/conversations/${expectId(arg, 'conversation')}`, undefined, signal);
      state.conversationId = conversation.id;
      print(`Continuing "${conversation.title ?? '(untitled)'}" (${conversation.message_count} messages).\n`);
    },
  },
  {
    name: 'cost',
    help: 'what this session and this conversation cost so far',
    async run({ client, state, print, signal }) {
      const s = state.spent;
      print(
        `This session: ${formatUsd(s.usd)} for ${s.answers} answer${s.answers === 1 ? '' : 's'} ` +
          `(${formatCount(s.promptTokens)} prompt + ${formatCount(s.completionTokens)} completion tokens)\n`,
      );
      if (!state.conversationId) return;
      const c = await client.get<ConversationInfo>(`/conversations/${state.conversationId}`, undefined, signal);
      print(`This conversation: ${formatUsd(c.cost_usd)} · ${c.message_count} messages · ${formatCount(c.total_tokens)} tokens\n`);
    },
  },
  {
    name: 'help',
    help: 'this list',
    async run({ print, style }) {
      const rows = CHAT_COMMANDS.map((c) => [`/${c.name}${c.args ? ` ${c.args}` : ''}`, c.help]);
      const width = Math.max(...rows.map((r) => r[0].length));
      print(
        rows.map(([cmd, help]) => `  ${cmd.padEnd(width)}  ${help}`).join('\n') +
          '\n' +
          style.dim(
            'Ctrl-C stops an answer (twice at an empty prompt leaves); Ctrl-D leaves; ↑/↓ recall typed lines; Tab completes; //text sends "/text".',
          ) +
          '\n',
      );
    },
  },
  {
    name: 'exit',
    help: 'leave (also Ctrl-D)',
    async run() {
      return 'exit';
    },
  },
];

const ALIASES: Record<string, string> = { quit: 'exit', q: 'exit', '?': 'help' };

/** A "/name arg" line: runs it, or says the command is unknown. */
export async function runChatCommand(ctx: ChatCommandContext, line: string): Promise<'exit' | void> {
  const match = /^\/(\S*)\s*(.*)$/.exec(line.trim())!;
  const name = ALIASES[match[1]] ?? match[1];
  const command = CHAT_COMMANDS.find((c) => c.name === name);
  if (!command) return void ctx.print(`Unknown command /${match[1]}: /help lists them.\n`);
  return command.run(ctx, match[2].trim());
}
