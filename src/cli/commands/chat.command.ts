import type { ConversationInfo, Me } from '../api-types.js';
import { uploadFiles } from '../attachments.js';
import { describeModel, type ChatState } from '../chat-commands.js';
import { ChatSession } from '../chat-session.js';
import type { CommandSpec } from '../command-spec.js';
import { expectArgs, listOption, stringOption } from '../command-spec.js';
import { historyPath } from '../config.js';
import { expectId } from '../ids.js';
import { createStyle } from '../style.js';

export const chatCommand: CommandSpec = {
  name: 'chat',
  usage: '[--model M] [--persona P] [--conversation ID] [--file PATH]...',
  summary: 'an interactive chat; history is kept on the server (/help inside)',
  options: {
    model: { type: 'string', short: 'm' },
    persona: { type: 'string', short: 'p' },
    conversation: { type: 'string', short: 'c' },
    file: { type: 'string', short: 'f', multiple: true },
  },
  optionHelp: [
    ['-m, --model M', "the model (default: the conversation's, else the server default)"],
    ['-p, --persona P', 'a persona applied over the model, e.g. luminary/socrates'],
    ['-c, --conversation ID', 'continue a conversation'],
    ['-f, --file PATH', 'attach a file to the first message (repeat for more)'],
  ],
  details: [
    'Inside: /new /model /persona /file PATH /history /conversations /open ID /cost /help /exit.',
    'Ctrl-C stops an answer and keeps the session (twice at an empty prompt leaves); Ctrl-D leaves.',
    'Typed lines are recalled with ↑/↓ and kept in a history file beside the config file.',
  ].join('\n'),
  async run(ctx, { values, positionals }) {
    expectArgs(this, positionals, 0);
    const client = ctx.client();
    const style = createStyle(ctx.color);
    const conversation = stringOption(values, 'conversation');
    const state: ChatState = {
      conversationId: null,
      model: stringOption(values, 'model') ?? null,
      persona: stringOption(values, 'persona') ?? null,
      answeredBy: null,
      pending: [],
      spent: { usd: 0, answers: 0, promptTokens: 0, completionTokens: 0 },
    };
    // Checked before the first prompt: a wrong key or URL should not wait for the first message.
    const me = await client.get<Me>('/me');
    const lines = [`${style.bold('Colloquy chat')} · ${client.baseUrl} · ${me.name}`];
    if (conversation) {
      const found = await client.get<ConversationInfo>(`/conversations/${expectId(conversation, 'conversation')}`);
      state.conversationId = found.id;
      state.answeredBy = found.model;
      lines.push(`Continuing "${found.title ?? '(untitled)'}" (${found.message_count} messages)`);
    }
    const files = listOption(values, 'file');
    if (files.length) {
      state.pending = await uploadFiles(client, files);
      lines.push(`📎 ${state.pending.map((f) => f.filename).join(', ')} will go with your first message`);
    }
    lines.push(style.dim(`Model: ${describeModel(state)} · /help for commands · Ctrl-C stops an answer · Ctrl-D or /exit leaves`));
    return new ChatSession({
      client,
      input: ctx.io.stdin,
      output: ctx.io.stdout,
      style,
      historyFile: historyPath(ctx.config.path),
      state,
      banner: lines.join('\n') + '\n\n',
    }).run();
  },
};
