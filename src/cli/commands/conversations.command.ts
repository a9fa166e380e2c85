import type { ApiClient, ListPage } from '../api-client.js';
import type { ConversationInfo, MessageInfo } from '../api-types.js';
import type { CommandSpec } from '../command-spec.js';
import { expectArgs, intOption, stringOption } from '../command-spec.js';
import { formatCount, formatTime, formatUsd, truncate } from '../format.js';
import { expectId } from '../ids.js';
import { createStyle, type Style } from '../style.js';
import { formatTable } from '../table.js';
import { renderTranscript } from '../transcript.js';

/** The columns `conversations list` and the chat's /conversations share. */
export function conversationTable(items: ConversationInfo[], current?: string | null): string {
  const rows = items.map((c) => [
    (c.id === current ? '* ' : '') + c.id,
    formatTime(c.last_used_at),
    String(c.message_count),
    formatUsd(c.cost_usd),
    c.profile ?? c.model ?? '',
    truncate(c.title ?? '(untitled)', 50),
  ]);
  return formatTable(
    [
      { header: 'ID' },
      { header: 'LAST USED' },
      { header: 'MSGS', align: 'right' },
      { header: 'COST', align: 'right' },
      { header: 'MODEL' },
      { header: 'TITLE' },
    ],
    rows,
  );
}

/** A conversation and all its messages (every page). */
export async function loadConversation(
  client: ApiClient,
  id: string,
  signal?: AbortSignal,
): Promise<{ conversation: ConversationInfo; messages: MessageInfo[] }> {
  const [conversation, messages] = await Promise.all([
    client.get<ConversationInfo>(`/conversations/${id}`, undefined, signal),
    client.all<MessageInfo>(`/conversations/${id}/messages`, { order: 'asc' }, signal),
  ]);
  return { conversation, messages };
}

/** The messages as a transcript, files named from the conversation's file list. */
export function conversationTranscript(
  { conversation, messages }: { conversation: ConversationInfo; messages: MessageInfo[] },
  style: Style,
): string {
  return renderTranscript(messages, new Map((conversation.files ?? []).map((f) => [f.id, f.filename])), style);
}

const list: CommandSpec = {
  name: 'conversations list',
  usage: '[--limit N] [--query TEXT] [--tag TAG] [--json]',
  summary: 'your conversations, most recent first',
  options: { limit: { type: 'string' }, query: { type: 'string', short: 'q' }, tag: { type: 'string' }, json: { type: 'boolean' } },
  optionHelp: [
    ['--limit N', 'how many (default 20, at most 100)'],
    ['-q, --query TEXT', 'titles containing TEXT'],
    ['--tag TAG', 'tagged TAG'],
    ['--json', 'the raw list'],
  ],
  async run(ctx, { values, positionals }) {
    expectArgs(this, positionals, 0);
    const page = await ctx.client().get<ListPage<ConversationInfo>>('/conversations', {
      limit: intOption(values, 'limit', 20, 100),
      q: stringOption(values, 'query'),
      tag: stringOption(values, 'tag'),
    });
    if (values.json) return void ctx.io.stdout.write(JSON.stringify(page, null, 2) + '\n');
    if (!page.data.length) return void ctx.io.stdout.write('No conversations yet: start one with `colloquy chat` or `colloquy ask`.\n');
    ctx.io.stdout.write(conversationTable(page.data));
  },
};

const show: CommandSpec = {
  name: 'conversations show',
  usage: 'ID [--json]',
  summary: 'a conversation with its messages',
  options: { json: { type: 'boolean' } },
  optionHelp: [['--json', '{ conversation, messages } as the server gives them']],
  async run(ctx, { values, positionals }) {
    const id = expectId(expectArgs(this, positionals, 1)[0], 'conversation');
    const loaded = await loadConversation(ctx.client(), id);
    if (values.json) return void ctx.io.stdout.write(JSON.stringify(loaded, null, 2) + '\n');
    const { conversation } = loaded;
    const style = createStyle(ctx.color);
    ctx.io.stdout.write(
      `${style.bold(conversation.title ?? '(untitled)')}\n` +
        style.dim(
          `${conversation.id} · ${conversation.profile ?? conversation.model ?? 'default model'} · ${conversation.message_count} messages · ` +
            `${formatCount(conversation.total_tokens)} tokens · ${formatUsd(conversation.cost_usd)}`,
        ) +
        '\n\n' +
        conversationTranscript(loaded, style),
    );
  },
};

const rename: CommandSpec = {
  name: 'conversations rename',
  usage: 'ID TITLE',
  summary: 'give a conversation a new title',
  options: { json: { type: 'boolean' } },
  async run(ctx, { values, positionals }) {
    expectArgs(this, positionals, 2, Infinity);
    const id = expectId(positionals[0], 'conversation');
    const title = positionals.slice(1).join(' ').trim();
    const updated = await ctx.client().patch<ConversationInfo>(`/conversations/${id}`, { title });
    ctx.io.stdout.write(values.json ? JSON.stringify(updated, null, 2) + '\n' : `Renamed ${id} to "${updated.title}"\n`);
  },
};

const remove: CommandSpec = {
  name: 'conversations delete',
  usage: 'ID',
  summary: 'delete a conversation (its usage stays metered)',
  options: { json: { type: 'boolean' } },
  async run(ctx, { values, positionals }) {
    const id = expectId(expectArgs(this, positionals, 1)[0], 'conversation');
    const deleted = await ctx.client().delete<object>(`/conversations/${id}`);
    ctx.io.stdout.write(values.json ? JSON.stringify(deleted, null, 2) + '\n' : `Deleted conversation ${id}\n`);
  },
};

export const conversationCommands: CommandSpec[] = [list, show, rename, remove];
