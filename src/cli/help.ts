import type { CommandSpec } from './command-spec.js';
import { DEFAULT_URL } from './config.js';

export const GLOBAL_HELP: Array<[string, string]> = [
  ['--url URL', `the server (env COLLOQUY_URL; default ${DEFAULT_URL})`],
  ['--key KEY', 'the API key (env COLLOQUY_API_KEY)'],
  ['--debug', 'show each request, and stack traces on errors'],
  ['-h, --help', 'help for a command'],
];

function optionLines(options: Array<[string, string]>): string {
  const width = Math.max(...options.map(([flags]) => flags.length));
  return options.map(([flags, text]) => `  ${flags.padEnd(width)}  ${text}`).join('\n');
}

/** `colloquy --help`: every command, grouped ones on one line. */
export function mainHelp(specs: CommandSpec[], version: string): string {
  const rows: Array<[string, string]> = [];
  const groups = new Map<string, string[]>();
  for (const spec of specs) {
    const [group, sub] = spec.name.split(' ');
    if (!sub) {
      rows.push([`${spec.name} ${spec.synopsis ?? ''}`.trimEnd(), spec.summary]);
    } else if (!groups.has(group)) {
      groups.set(group, [sub]);
      rows.push([group, '']);
    } else {
      groups.get(group)!.push(sub);
    }
  }
  const described = rows.map(([name, summary]): [string, string] =>
    groups.has(name) ? [`${name} ${groups.get(name)!.join('|')}`, groupSummary(name)] : [name, summary],
  );
  return [
    `colloquy ${version}: a terminal client for a Colloquy server`,
    '',
    'Usage: colloquy <command> [options]',
    '',
    'Commands:',
    optionLines(described),
    '',
    'Options for every command:',
    optionLines(GLOBAL_HELP),
    '',
    'The URL and key come from the flags, else the environment, else the config file written by',
    '`colloquy login` ($COLLOQUY_CONFIG, else ~/.config/colloquy/config.json).',
    'Exit codes: 0 done, 1 the server or the API refused or failed, 2 bad arguments.',
    'More: colloquy <command> --help',
    '',
  ].join('\n');
}

function groupSummary(group: string): string {
  return group === 'conversations' ? 'list, read, rename or delete conversations' : group === 'files' ? 'upload, list, download or delete files' : '';
}

/** `colloquy files --help`. */
export function groupHelp(group: string, specs: CommandSpec[]): string {
  const members = specs.filter((s) => s.name.startsWith(`${group} `));
  return [
    `Usage: colloquy ${group} <${members.map((s) => s.name.split(' ')[1]).join('|')}> [options]`,
    '',
    optionLines(members.map((s) => [`${s.name} ${s.usage}`.trimEnd(), s.summary])),
    '',
    `More: colloquy ${group} <command> --help`,
    '',
  ].join('\n');
}

/** `colloquy ask --help`. */
export function commandHelp(spec: CommandSpec): string {
  const parts = [`Usage: colloquy ${spec.name} ${spec.usage}`.trimEnd(), '', `${spec.summary[0].toUpperCase()}${spec.summary.slice(1)}.`];
  if (spec.optionHelp?.length) parts.push('', 'Options:', optionLines(spec.optionHelp));
  parts.push('', 'Also: --url URL, --key KEY, --debug.');
  if (spec.details) parts.push('', spec.details);
  parts.push('');
  return parts.join('\n');
}
