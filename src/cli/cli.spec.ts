import { PassThrough } from 'node:stream';
import { runCli } from './cli.js';
import type { Terminal } from './command-spec.js';

/** Runs the CLI in-process with captured streams; nothing here reaches a server. */
async function run(argv: string[], env: NodeJS.ProcessEnv = { COLLOQUY_CONFIG: '/nonexistent/colloquy.json' }) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const io: Terminal = { stdin: Object.assign(new PassThrough(), { isTTY: true }), stdout, stderr, env };
  const code = await runCli(argv, io, '9.9.9');
  return { code, stdout: out, stderr: err };
}

describe('runCli', () => {
  it('prints the version and the help with exit 0', async () => {
    expect(await run(['--version'])).toEqual({ code: 0, stdout: '9.9.9\n', stderr: '' });
    const help = await run([]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: colloquy <command> [options]');
    expect((await run(['help', 'usage'])).stdout).toContain('Usage: colloquy usage [--from YYYY-MM-DD]');
    expect((await run(['conversations', '--help'])).stdout).toContain('conversations rename ID TITLE');
  });

  it('finds the command among options that take values', async () => {
    const result = await run(['--url', 'http://x:1', 'files', '--limit', '5', 'list', '--help']);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toContain('Usage: colloquy files list');
  });

  it.each([
    [['nope'], 'unknown command "nope" (see colloquy --help)'],
    [['files'], 'files needs a command: one of upload, list, get, delete (see colloquy files --help)'],
    [['files', 'fetch'], 'unknown command "files fetch": one of upload, list, get, delete (see colloquy files --help)'],
    [['models', '--colour'], "Unknown option '--colour' (see colloquy models --help)"],
    [['models', 'extra'], 'unexpected argument "extra": colloquy models [--json] (see colloquy models --help)'],
    [['usage', '--by', 'week', '--key', 'k'], '--by must be one of day, model, key, session, end_user (got "week")'],
    [['files', 'list', '--limit', '0', '--key', 'k'], '--limit must be a whole number from 1 to 100'],
    [['models', '--url', 'localhost:3000', '--key', 'k'], 'the server URL must start with http:// or https:// (got "localhost:3000")'],
    [['ask'], 'no prompt: give it as an argument or on stdin (see colloquy ask --help)'],
  ])('refuses %j with one line and exit 2', async (argv, line) => {
    expect(await run(argv)).toEqual({ code: 2, stdout: '', stderr: `colloquy: ${line}\n` });
  });

  it('asks for a key before calling the server', async () => {
    const result = await run(['models']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^colloquy: no API key: pass --key KEY, set COLLOQUY_API_KEY, or run `colloquy login --url URL --key KEY`\n$/);
  });
});
