import type { CommandSpec } from '../command-spec.js';
import { listOption, stringOption } from '../command-spec.js';
import { blockingTurn, streamTurn, type ChatRequest } from '../chat-turn.js';
import { expectId } from '../ids.js';
import { readAll } from '../stdin.js';
import { UsageError } from '../usage-error.js';

export const askCommand: CommandSpec = {
  name: 'ask',
  usage: '["PROMPT"] [--model M] [--persona P] [--file PATH]... [--json] [--no-stream]',
  summary: 'one question, the answer on stdout (the prompt may come from stdin)',
  synopsis: '"PROMPT"',
  options: {
    model: { type: 'string', short: 'm' },
    persona: { type: 'string', short: 'p' },
    conversation: { type: 'string', short: 'c' },
    file: { type: 'string', short: 'f', multiple: true },
    json: { type: 'boolean' },
    'no-stream': { type: 'boolean' },
  },
  optionHelp: [
    ['-m, --model M', 'the model (default: the server default)'],
    ['-p, --persona P', 'a persona applied over the model, e.g. luminary/socrates'],
    ['-c, --conversation ID', 'continue a conversation'],
    ['-f, --file PATH', 'attach a file (repeat for more)'],
    ['--json', 'print the whole response (chat.completion with conversation_id and cost)'],
    ['--no-stream', 'print the answer once it is complete'],
  ],
  details: [
    'Without PROMPT (or with -) the prompt is read from stdin.',
    '',
    'Examples:',
    '  colloquy ask "What is courage?" --persona luminary/socrates',
    '  colloquy ask "Summarise this" --file report.pdf',
    '  git diff | colloquy ask --model gpt-4o-mini',
  ].join('\n'),
  async run(ctx, { values, positionals }) {
    const fromArgs = positionals.join(' ');
    let prompt = fromArgs;
    if (!positionals.length || fromArgs === '-') {
      if (ctx.io.stdin.isTTY) throw new UsageError('no prompt: give it as an argument or on stdin', 'colloquy ask --help');
      // `echo hi |` ends with a newline that is not part of the question.
      prompt = (await readAll(ctx.io.stdin)).trimEnd();
    }
    if (!prompt.trim()) throw new UsageError('the prompt is empty', 'colloquy ask --help');
    const conversation = stringOption(values, 'conversation');
    const request: ChatRequest = {
      message: prompt,
      model: stringOption(values, 'model'),
      profile: stringOption(values, 'persona'),
      conversation_id: conversation ? expectId(conversation, 'conversation') : undefined,
    };
    const files = listOption(values, 'file');
    const out = ctx.io.stdout;

    if (values.json || values['no-stream']) {
      const response = await blockingTurn(ctx.client(), request, { files });
      const text = response.choices[0]?.message.content ?? '';
      out.write(values.json ? JSON.stringify(response, null, 2) + '\n' : text + (text.endsWith('\n') ? '' : '\n'));
      return;
    }
    let last = '\n';
    try {
      await streamTurn(ctx.client(), request, {
        files,
        onText: (text) => {
          out.write(text);
          last = text;
        },
      });
    } finally {
      // The answer (or what came of it) ends its line, so an error line starts on its own.
      if (!last.endsWith('\n')) out.write('\n');
    }
  },
};
