import { inspect, parseArgs } from 'node:util';
import { ApiClient } from './api-client.js';
import type { CommandContext, CommandSpec, OptionsConfig, OptionValues, Terminal } from './command-spec.js';
import { stringOption } from './command-spec.js';
import { askCommand } from './commands/ask.command.js';
import { chatCommand } from './commands/chat.command.js';
import { conversationCommands } from './commands/conversations.command.js';
import { fileCommands } from './commands/files.command.js';
import { loginCommand } from './commands/login.command.js';
import { modelsCommand } from './commands/models.command.js';
import { usageCommand } from './commands/usage.command.js';
import { configPath, readConfigFile, resolveConfig } from './config.js';
import { describeError, EXIT_OK } from './error-line.js';
import { commandHelp, groupHelp, mainHelp } from './help.js';
import { useColor } from './style.js';
import { UsageError } from './usage-error.js';

export const COMMANDS: CommandSpec[] = [loginCommand, chatCommand, askCommand, modelsCommand, ...conversationCommands, ...fileCommands, usageCommand];

const GLOBAL_OPTIONS: OptionsConfig = {
  url: { type: 'string' },
  key: { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

/**
 * Runs one invocation and returns its exit code. Every failure ends here as one line on stderr
 * (and, with --debug, its stack): 1 when the server or the API refused or failed, 2 for bad usage.
 */
export async function runCli(argv: string[], io: Terminal, version: string): Promise<number> {
  try {
    return await dispatch(argv, io, version);
  } catch (err) {
    const { line, exitCode } = describeError(err);
    io.stderr.write(`colloquy: ${line}\n`);
    if (argv.includes('--debug')) io.stderr.write(`${err instanceof Error ? err.stack : inspect(err)}\n${causeOf(err)}`);
    return exitCode;
  }
}

function causeOf(err: unknown): string {
  const cause = (err as { cause?: unknown })?.cause;
  return cause === undefined ? '' : `cause: ${inspect(cause)}\n`;
}

/** The command's words (`files get`) among the options, skipping the values of options that take one. */
function commandWords(argv: string[]): Array<{ index: number; word: string }> {
  const takesValue = new Set<string>();
  for (const options of [GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options ?? {})]) {
    for (const [name, option] of Object.entries(options)) {
      if (option.type !== 'string') continue;
      takesValue.add(`--${name}`);
      if (option.short) takesValue.add(`-${option.short}`);
    }
  }
  const words: Array<{ index: number; word: string }> = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const arg = argv[i];
    if (arg === '--') break;
    if (arg.startsWith('-') && arg !== '-') {
      if (takesValue.has(arg)) i++;
      continue;
    }
    words.push({ index: i, word: arg });
  }
  return words;
}

async function dispatch(argv: string[], io: Terminal, version: string): Promise<number> {
  if (argv[0] === '--version' || argv[0] === '-V') {
    io.stdout.write(`${version}\n`);
    return EXIT_OK;
  }
  const wantsHelp = argv.includes('--help') || argv.includes('-h');
  const words = commandWords(argv);
  const [first, second] = words;
  if (!first || first.word === 'help') {
    const topic = first ? second?.word : undefined;
    if (!first && !wantsHelp && argv.length) throw new UsageError('no command given', 'colloquy --help');
    if (topic && COMMANDS.some((c) => c.name === topic)) io.stdout.write(commandHelp(COMMANDS.find((c) => c.name === topic)!));
    else if (topic && COMMANDS.some((c) => c.name.startsWith(`${topic} `))) io.stdout.write(groupHelp(topic, COMMANDS));
    else io.stdout.write(mainHelp(COMMANDS, version));
    return EXIT_OK;
  }

  let spec = COMMANDS.find((c) => c.name === first.word);
  const used = [first.index];
  if (!spec) {
    const members = COMMANDS.filter((c) => c.name.startsWith(`${first.word} `));
    if (!members.length) throw new UsageError(`unknown command "${first.word}"`, 'colloquy --help');
    spec = second && members.find((c) => c.name === `${first.word} ${second.word}`);
    if (!spec) {
      if (wantsHelp && !second) {
        io.stdout.write(groupHelp(first.word, COMMANDS));
        return EXIT_OK;
      }
      const choices = members.map((c) => c.name.split(' ')[1]).join(', ');
      const problem = second ? `unknown command "${first.word} ${second.word}"` : `${first.word} needs a command`;
      throw new UsageError(`${problem}: one of ${choices}`, `colloquy ${first.word} --help`);
    }
    used.push(second.index);
  }

  let values: OptionValues;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv.filter((_, i) => !used.includes(i)),
      options: { ...GLOBAL_OPTIONS, ...spec.options },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    // Node's messages go on to explain `--`; the first sentence is the point.
    throw new UsageError((err as Error).message.split('. ')[0], `colloquy ${spec.name} --help`);
  }
  if (values.help) {
    io.stdout.write(commandHelp(spec));
    return EXIT_OK;
  }

  const path = configPath(io.env);
  const config = resolveConfig({
    flags: { url: stringOption(values, 'url'), key: stringOption(values, 'key') },
    env: io.env,
    file: readConfigFile(path),
    path,
  });
  const debug = values.debug === true;
  let client: ApiClient | null = null;
  const ctx: CommandContext = {
    config,
    io,
    debug,
    version,
    color: useColor(io.stdout, io.env),
    client: () => {
      if (!config.apiKey) {
        throw new UsageError('no API key: pass --key KEY, set COLLOQUY_API_KEY, or run `colloquy login --url URL --key KEY`');
      }
      client ??= new ApiClient({
        baseUrl: config.url,
        apiKey: config.apiKey,
        userAgent: `colloquy-cli/${version}`,
        debug: debug ? (line) => io.stderr.write(`[debug] ${line}\n`) : undefined,
      });
      return client;
    },
  };
  if (debug)
    io.stderr.write(
      `[debug] server ${config.url} (from ${config.sources.url}), key from ${config.sources.apiKey ?? 'nowhere'}, config file ${path}\n`,
    );
  return (await spec.run(ctx, { values, positionals })) ?? EXIT_OK;
}
