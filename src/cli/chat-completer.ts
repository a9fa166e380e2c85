import { readdirSync } from 'node:fs';
import { homedir } from 'node:os';

export interface CompletionSources {
  commands: string[];
  /** Model and persona ids known so far (may be empty). */
  models: () => string[];
  /** Entries of a directory, directories ending in "/". */
  listDir?: (dir: string) => string[];
}

function listDirectory(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? `${e.name}/` : e.name));
  } catch {
    return [];
  }
}

/**
 * Tab completion for the chat prompt, as readline wants it: [candidates, the text they replace].
 * Slash-command names, model and persona ids after /model and /persona, paths after /file.
 */
export function completeLine(line: string, sources: CompletionSources): [string[], string] {
  const command = /^\/(\S*)$/.exec(line);
  if (command) {
    const hits = sources.commands.filter((c) => c.startsWith(command[1])).map((c) => `/${c} `);
    return [hits, line];
  }
  const argument = /^\/(model|persona|file)\s+(.*)$/.exec(line);
  if (!argument) return [[], line];
  const [, name, partial] = argument;
  if (name !== 'file') {
    return [sources.models().filter((id) => id.startsWith(partial)), partial];
  }
  const expanded = partial.startsWith('~/') ? homedir() + partial.slice(1) : partial;
  const slash = expanded.lastIndexOf('/');
  const dir = expanded.slice(0, slash + 1);
  const base = expanded.slice(slash + 1);
  const prefix = partial.slice(0, partial.length - base.length);
  const entries = (sources.listDir ?? listDirectory)(dir || '.');
  return [entries.filter((e) => e.startsWith(base) && (base.startsWith('.') || !e.startsWith('.'))).map((e) => prefix + e), partial];
}
