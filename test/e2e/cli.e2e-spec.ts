import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cliEnv, runCli } from '../support/cli.js';
import { DOCUMENT_FIXTURES, documentFixture } from '../support/documents.js';
import { startServerProcess, type ServerProcess } from '../support/server-process.js';
import { startStandInUpstream, type StandInUpstream } from '../support/stand-in-upstream.js';
import { writeTestConfig } from '../support/test-config.js';
import { client } from '../support/http.js';
import { createUser } from '../support/users.js';

const ADMIN_KEY = 'cli-test-admin-key-0123456789';
const REPORT_PDF = join(DOCUMENT_FIXTURES, 'report.pdf');
const REPORT_DOCX = join(DOCUMENT_FIXTURES, 'report.docx');
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/** The CLI's one-shot commands against a real server process (the interactive chat is in cli-chat). */
describe('the colloquy CLI', () => {
  let upstream: StandInUpstream;
  let server: ServerProcess;

  beforeAll(async () => {
    upstream = await startStandInUpstream();
    server = await startServerProcess({
      CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }),
      COLLOQUY_ADMIN_KEY: ADMIN_KEY,
      UPSTREAM_MAX_RETRIES: '0',
    });
  });
  afterAll(async () => {
    await server?.stop();
    await upstream?.close();
  });
  beforeEach(() => {
    upstream.reset();
    upstream.setDefault({ kind: 'reply' });
  });

  /** A user of their own, so lists and usage hold only what the test did. */
  async function newUser(): Promise<{ key: string; env: Record<string, string> }> {
    const { key } = await createUser(server.url, ADMIN_KEY);
    return { key, env: cliEnv({ COLLOQUY_URL: server.url, COLLOQUY_API_KEY: key }) };
  }

  describe('the executable', () => {
    it("is package.json's bin, a node script that runs the built CLI", async () => {
      const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string; bin: Record<string, string> };
      const bin = pkg.bin.colloquy;
      expect(readFileSync(bin, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
      // swc keeps the shebang of the compiled entry too, for `node dist/cli/main.js` and direct runs alike.
      expect(readFileSync('dist/cli/main.js', 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
      const result = await runCli(['--version'], cliEnv(), '', bin);
      expect(result).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    });
  });

  describe('help and usage errors', () => {
    it('prints help listing every command, exit 0', async () => {
      const result = await runCli(['--help'], cliEnv());
      expect(result.code).toBe(0);
      for (const command of ['login', 'chat', 'ask', 'models', 'conversations list|show|rename|delete', 'files upload|list|get|delete', 'usage']) {
        expect(result.stdout).toContain(command);
      }
      expect((await runCli(['files', 'get', '--help'], cliEnv())).stdout).toContain('Usage: colloquy files get ID [-o PATH]');
    });

    it('answers a bad invocation with one line and exit code 2', async () => {
      for (const args of [
        ['frobnicate'],
        ['ask', '--nope', 'x'],
        ['files'],
        ['usage', '--from', '2026-13-01'],
        ['conversations', 'show', 'not-an-id'],
      ]) {
        const result = await runCli(args, cliEnv({ COLLOQUY_URL: server.url, COLLOQUY_API_KEY: ADMIN_KEY }));
        expect({ args, code: result.code }).toEqual({ args, code: 2 });
        expect(result.stderr.trim().split('\n')).toHaveLength(1);
        expect(result.stderr).toMatch(/^colloquy: /);
      }
    });

    it('says how to give a key when none is configured', async () => {
      const result = await runCli(['models'], cliEnv({ COLLOQUY_URL: server.url }));
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/no API key: pass --key KEY, set COLLOQUY_API_KEY, or run `colloquy login/);
    });
  });

  describe('login', () => {
    it('checks the key, writes it owner-only, and later commands use it', async () => {
      const env = cliEnv();
      const result = await runCli(['login', '--url', server.url, '--key', ADMIN_KEY], env);
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toContain(`Logged in to ${server.url} as admin`);
      const file = env.COLLOQUY_CONFIG;
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(dirname(file)).mode & 0o777).toBe(0o700);
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ url: server.url, api_key: ADMIN_KEY });

      const models = await runCli(['models'], env);
      expect(models.code).toBe(0);
      expect(models.stdout).toContain('standin-gpt');
      // Only what the chat commands can use: no embedding or image models.
      expect(models.stdout).toContain('colloquy/echo');
      expect(models.stdout).not.toContain('colloquy/embed');
      expect(models.stdout).not.toContain('colloquy/image');
    });

    it('reads the key from stdin, and flags beat the environment, which beats the file', async () => {
      const env = cliEnv();
      expect((await runCli(['login', '--url', server.url], env, `${ADMIN_KEY}\n`)).code).toBe(0);
      expect(JSON.parse(readFileSync(env.COLLOQUY_CONFIG, 'utf8')).api_key).toBe(ADMIN_KEY);

      const badEnv = { ...env, COLLOQUY_API_KEY: 'cq_wrong-key-from-the-environment-00000000000' };
      expect((await runCli(['models'], badEnv)).code).toBe(1);
      expect((await runCli(['models', '--key', ADMIN_KEY], badEnv)).code).toBe(0);
    });

    it('refuses a wrong key and leaves no config behind', async () => {
      const env = cliEnv();
      const result = await runCli(['login', '--url', server.url, '--key', 'cq_not-a-real-key-000000000000000000000000000'], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^colloquy: the API key was refused/);
      expect(() => statSync(env.COLLOQUY_CONFIG)).toThrow();
    });
  });

  describe('models', () => {
    it('lists models and personas as a table, or raw with --json', async () => {
      const { env } = await newUser();
      const table = await runCli(['models'], env);
      expect(table.code).toBe(0);
      const lines = table.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^ID\s+KIND\s+OWNER\s+DESCRIPTION$/);
      expect(lines.find((l) => l.startsWith('standin-gpt '))).toMatch(/standin-gpt\s+model\s+standin/);
      expect(lines.find((l) => l.startsWith('luminary/socrates '))).toMatch(/persona/);

      const json = JSON.parse((await runCli(['models', '--json'], env)).stdout);
      expect(json.object).toBe('list');
      expect(json.data.map((m: { id: string }) => m.id)).toEqual(expect.arrayContaining(['standin-gpt', 'colloquy/echo', 'luminary/socrates']));
    });
  });

  describe('ask', () => {
    it('streams the answer to stdout', async () => {
      const { env } = await newUser();
      upstream.setDefault({ kind: 'reply', text: 'Courage is knowing what not to fear.' });
      const result = await runCli(['ask', 'What is courage?'], env);
      expect(result).toEqual({ code: 0, stdout: 'Courage is knowing what not to fear.\n', stderr: '' });
      expect(upstream.requests[0].body).toMatchObject({ stream: true, messages: [{ role: 'user', content: 'What is courage?' }] });
    });

    it('reads the prompt from stdin', async () => {
      const { env } = await newUser();
      const result = await runCli(['ask', '--model', 'colloquy/echo'], env, 'hi from a pipe\n');
      expect(result).toEqual({ code: 0, stdout: 'hi from a pipe\n', stderr: '' });
    });

    it('sends a PDF with the question: the model receives its text', async () => {
      const { env, key } = await newUser();
      const result = await runCli(['ask', 'Summarise the report', '--file', REPORT_PDF], env);
      expect(result.code).toBe(0);
      expect(JSON.stringify(upstream.requests[0].body)).toContain('Zephyr Widgets');
      const files = (await client(server.url, key).get('/files')).body.data;
      expect(files).toMatchObject([{ filename: 'report.pdf', mime_type: 'application/pdf' }]);

      const echoed = await runCli(['ask', 'Two files', '-f', REPORT_PDF, '-f', REPORT_DOCX, '--model', 'colloquy/echo'], env);
      expect(echoed.stdout).toContain('📎 report.pdf (application/pdf)');
      expect(echoed.stdout).toContain('📎 report.docx');
    });

    it('prints the whole response with --json, and only the text with --no-stream', async () => {
      const { env, key } = await newUser();
      upstream.setDefault({ kind: 'reply', text: 'A complete answer.' });
      const json = await runCli(['ask', 'Hello', '--json'], env);
      expect(json.code).toBe(0);
      const response = JSON.parse(json.stdout);
      expect(response).toMatchObject({
        object: 'chat.completion',
        choices: [{ message: { content: 'A complete answer.' } }],
        cost: expect.any(Number),
      });
      expect((await client(server.url, key).get(`/conversations/${response.conversation_id}`)).status).toBe(200);
      expect(upstream.requests[0].body?.stream).toBeFalsy();

      const plain = await runCli(['ask', 'Hello again', '--no-stream', '--conversation', response.conversation_id], env);
      expect(plain).toEqual({ code: 0, stdout: 'A complete answer.\n', stderr: '' });
      expect(upstream.requests[1].body?.stream).toBeFalsy();
      // Continued the same conversation: its history went upstream.
      expect(JSON.stringify(upstream.requests[1].body?.messages)).toContain('Hello');
    });

    it('applies a persona over the model', async () => {
      const { env } = await newUser();
      const result = await runCli(['ask', 'Who are you?', '--persona', 'luminary/socrates'], env);
      expect(result.code).toBe(0);
      const messages = upstream.requests[0].body?.messages as Array<{ role: string; content: string }>;
      expect(messages[0].role).toBe('system');
    });

    it('fails with exit 1 and one line when the answer breaks midway, after printing what came', async () => {
      const { env } = await newUser();
      upstream.setDefault({ kind: 'break', afterChunks: 3, text: 'one two three four five six' });
      const result = await runCli(['ask', 'Count'], env);
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/^one two/);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toMatch(/^colloquy: /);
    });
  });

  describe('conversations', () => {
    it('lists, shows, renames and deletes', async () => {
      const { env } = await newUser();
      upstream.setDefault({ kind: 'reply', text: 'Noted, Ada.' });
      const asked = JSON.parse((await runCli(['ask', 'My name is Ada', '--json'], env)).stdout);
      const id = asked.conversation_id as string;

      const list = await runCli(['conversations', 'list'], env);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(/^ID\s+LAST USED\s+MSGS\s+COST\s+MODEL\s+TITLE\n/);
      expect(list.stdout).toMatch(new RegExp(`${id}\\s+\\S+ \\S+\\s+2\\s+<?\\$\\S+\\s+standin-gpt\\s+My name is Ada`));

      const show = await runCli(['conversations', 'show', id], env);
      expect(show.code).toBe(0);
      expect(show.stdout).toMatch(/── you · .*\nMy name is Ada\n/);
      expect(show.stdout).toMatch(/── standin-gpt · .*\nNoted, Ada\.\n/);
      const shown = JSON.parse((await runCli(['conversations', 'show', id, '--json'], env)).stdout);
      expect(shown.messages.map((m: { role: string }) => m.role)).toEqual(['user', 'assistant']);

      const renamed = await runCli(['conversations', 'rename', id, 'About', 'Ada'], env);
      expect(renamed.code).toBe(0);
      expect((await runCli(['conversations', 'list', '--json'], env)).stdout).toContain('"title": "About Ada"');
      expect((await runCli(['conversations', 'list', '--query', 'ada'], env)).stdout).toContain('About Ada');

      expect((await runCli(['conversations', 'delete', id], env)).code).toBe(0);
      const gone = await runCli(['conversations', 'show', id], env);
      expect(gone.code).toBe(1);
      expect(gone.stderr).toMatch(/^colloquy: .*not found|^colloquy: No conversation/i);
      expect((await runCli(['conversations', 'list'], env)).stdout).toContain('No conversations yet');
    });
  });

  describe('files', () => {
    it('uploads, lists, downloads byte for byte, and deletes', async () => {
      const { env } = await newUser();
      const uploaded = await runCli(['files', 'upload', REPORT_PDF, REPORT_DOCX, '--json'], env);
      expect(uploaded.code).toBe(0);
      const [pdf, docx] = JSON.parse(uploaded.stdout) as Array<{ id: string; filename: string; pages: number }>;
      expect(pdf).toMatchObject({ filename: 'report.pdf', pages: 2 });
      expect(docx.filename).toBe('report.docx');

      const list = await runCli(['files', 'list'], env);
      expect(list.stdout).toMatch(/^ID\s+NAME\s+KIND\s+SIZE\s+PAGES\s+TOKENS\s+UPLOADED\n/);
      expect(list.stdout).toMatch(new RegExp(`${pdf.id}\\s+report\\.pdf\\s+pdf\\s+23 KB\\s+2\\s+\\d+`));
      expect(list.stdout).toContain(docx.id);

      const dir = mkdtempSync(join(tmpdir(), 'colloquy-cli-get-'));
      const target = join(dir, 'copy.pdf');
      const got = await runCli(['files', 'get', pdf.id, '-o', target], env);
      expect(got).toMatchObject({ code: 0, stderr: '' });
      expect(got.stdout).toContain('sha256 verified');
      expect(sha256(readFileSync(target))).toBe(sha256(documentFixture('report.pdf')));

      const toStdout = await runCli(['files', 'get', docx.id, '-o', '-'], { ...env });
      expect(toStdout.code).toBe(0);

      expect((await runCli(['files', 'delete', pdf.id], env)).stdout).toContain(`Deleted file ${pdf.id}`);
      const after = await runCli(['files', 'list', '--json'], env);
      expect(JSON.parse(after.stdout).data.map((f: { id: string }) => f.id)).toEqual([docx.id]);
      const missing = await runCli(['files', 'get', pdf.id, '-o', target], env);
      expect(missing.code).toBe(1);
    });

    it('names the file the server refused', async () => {
      const { env } = await newUser();
      const result = await runCli(['files', 'upload', join(DOCUMENT_FIXTURES, 'notepad.exe')], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^colloquy: notepad\.exe: .+\n$/);
      const missing = await runCli(['files', 'upload', join(DOCUMENT_FIXTURES, 'no-such-file.pdf')], env);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/no-such-file\.pdf: no such file or directory/);
    });
  });

  describe('usage', () => {
    it('reports requests, tokens and cost as a table or JSON, by day or by model', async () => {
      const { env, key } = await newUser();
      upstream.setDefault({ kind: 'reply', text: 'Metered.', usage: { prompt_tokens: 1000, completion_tokens: 100 } });
      expect((await runCli(['ask', 'one'], env)).code).toBe(0);
      expect((await runCli(['ask', 'two', '--model', 'colloquy/echo'], env)).code).toBe(0);
      // `ask` is a /chat turn, whose usage record is written before its answer ends: both are in.
      expect((await client(server.url, key).get('/usage')).body.totals.requests).toBe(2);

      const today = new Date().toISOString().slice(0, 10);
      const byDay = await runCli(['usage', '--from', today, '--to', today], env);
      expect(byDay.code).toBe(0);
      expect(byDay.stdout).toContain(`Usage from ${today} to ${today} by day`);
      expect(byDay.stdout).toMatch(/DAY\s+REQUESTS\s+FAILED\s+PROMPT\s+COMPLETION\s+TOKENS\s+COST/);
      expect(byDay.stdout).toMatch(new RegExp(`${today}\\s+2\\s+0\\s`));
      expect(byDay.stdout).toMatch(/TOTAL\s+2\s+0\s/);

      const byModel = await runCli(['usage', '--by', 'model'], env);
      // standin-gpt: 1,000 prompt tokens at $2.50/M + 100 completion at $10/M = $0.0035.
      expect(byModel.stdout).toMatch(/standin-gpt\s+1\s+0\s+1,000\s+100\s+1,100\s+\$0\.0035/);
      expect(byModel.stdout).toMatch(/colloquy\/echo\s+1\s+0\s/);

      const json = JSON.parse((await runCli(['usage', '--by', 'model', '--json'], env)).stdout);
      expect(json).toMatchObject({ object: 'usage.report', group_by: 'model', totals: { requests: 2 } });
      expect(json.totals.cost_usd).toBeCloseTo(0.0035, 6);
    });
  });
});
