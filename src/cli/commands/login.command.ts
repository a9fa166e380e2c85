import { ApiClient } from '../api-client.js';
import type { Me } from '../api-types.js';
import type { CommandSpec } from '../command-spec.js';
import { stringOption } from '../command-spec.js';
import { normalizeUrl, writeConfigFile } from '../config.js';
import { readAll } from '../stdin.js';
import { UsageError } from '../usage-error.js';

/**
 * Saves the server URL and key after checking them against GET /me, so a typo is caught now rather
 * than at the next command. Without --key the key is read from stdin (keeps it out of shell history).
 */
export const loginCommand: CommandSpec = {
  name: 'login',
  usage: '--url URL --key KEY',
  summary: 'check and save the server URL and API key',
  synopsis: '--url URL --key KEY',
  optionHelp: [
    ['--url URL', 'the server (default: the configured one, else http://localhost:3000)'],
    ['--key KEY', 'the API key; without it, read from stdin'],
    ['--no-verify', 'save without checking against the server'],
  ],
  options: { 'no-verify': { type: 'boolean' } },
  details: 'The config file is $COLLOQUY_CONFIG, else $XDG_CONFIG_HOME/colloquy/config.json, else ~/.config/colloquy/config.json (mode 0600).',
  async run(ctx, { values, positionals }) {
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`, 'colloquy login --help');
    const url = normalizeUrl(stringOption(values, 'url') ?? ctx.config.url);
    let key = stringOption(values, 'key')?.trim();
    if (!key) {
      if (ctx.io.stdin.isTTY) throw new UsageError('--key is required', 'colloquy login --help');
      key = (await readAll(ctx.io.stdin)).trim();
      if (!key) throw new UsageError('no key on stdin: pass --key KEY', 'colloquy login --help');
    }
    let who = '';
    if (!values['no-verify']) {
      const client = new ApiClient({ baseUrl: url, apiKey: key, userAgent: `colloquy-cli/${ctx.version}` });
      const me = await client.get<Me>('/me');
      who = ` as ${me.name} (${me.role})`;
    }
    writeConfigFile(ctx.config.path, { url, api_key: key });
    ctx.io.stdout.write(`Logged in to ${url}${who}; saved to ${ctx.config.path}\n`);
  },
};
