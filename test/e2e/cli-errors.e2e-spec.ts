import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEnv, runCli, type CliResult } from '../support/cli.js';
import { DOCUMENT_FIXTURES, documentFixture } from '../support/documents.js';
import { client } from '../support/http.js';
import { startS3rver, type S3rverHandle } from '../support/s3rver.js';
import { freePort, startServerProcess, type ServerProcess } from '../support/server-process.js';

const ADMIN_KEY = 'cli-errors-admin-key-0123456789';
const REPORT_PDF = join(DOCUMENT_FIXTURES, 'report.pdf');

/** One line on stderr, prefixed, with no stack trace in it. */
function expectOneLine(result: CliResult, pattern: RegExp): void {
  expect(result.stderr).toMatch(/^colloquy: [^\n]+\n$/);
  expect(result.stderr).toMatch(pattern);
  expect(result.stderr).not.toMatch(/\n\s+at /);
}

describe('the colloquy CLI when things go wrong', () => {
  let server: ServerProcess;
  let s3: S3rverHandle;
  let env: Record<string, string>;

  beforeAll(async () => {
    // Files on S3, so `files get` meets the presigned redirect; a 10 KB file limit for the 413s.
    s3 = await startS3rver({ bucket: 'cli-errors' });
    server = await startServerProcess({
      COLLOQUY_ADMIN_KEY: ADMIN_KEY,
      MAX_FILE_MB: '0.01',
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_FORCE_PATH_STYLE: 'true',
    });
    env = cliEnv({ COLLOQUY_URL: server.url, COLLOQUY_API_KEY: ADMIN_KEY });
  });
  afterAll(async () => {
    await server?.stop();
    await s3?.stop();
  });

  it('a refused key: one line, exit 1; the stack only with --debug', async () => {
    const bad = { ...env, COLLOQUY_API_KEY: 'cq_this-key-does-not-exist-000000000000000000' };
    const result = await runCli(['ask', 'hello'], bad);
    expect(result.code).toBe(1);
    expectOneLine(result, /^colloquy: the API key was refused \(.+\): check --key, COLLOQUY_API_KEY or `colloquy login`\n$/);
    expect(result.stdout).toBe('');

    const debug = await runCli(['models', '--debug'], bad);
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/\[debug\] ← 401 GET .*\/v1\/models/);
    expect(debug.stderr).toMatch(/ApiError: .*\n\s+at /);
  });

  it('a server that is not there: one line naming it', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    for (const args of [['ask', 'hello'], ['models'], ['files', 'list'], ['chat']]) {
      const result = await runCli(args, { ...env, COLLOQUY_URL: url });
      expect({ args, code: result.code }).toEqual({ args, code: 1 });
      expectOneLine(result, new RegExp(`^colloquy: cannot reach the server at ${url} \\(connection refused\\)\\n$`));
    }
  });

  it('a file over the limit: one line naming the file, whether uploaded or sent with a question', async () => {
    const upload = await runCli(['files', 'upload', REPORT_PDF], env);
    expect(upload.code).toBe(1);
    expectOneLine(upload, /^colloquy: report\.pdf: .*larger than/);

    const ask = await runCli(['ask', 'Summarise', '--file', REPORT_PDF], env);
    expect(ask.code).toBe(1);
    expectOneLine(ask, /^colloquy: report\.pdf: .*larger than/);
  });

  it('over a rate limit: one line with the time to wait', async () => {
    const admin = client(server.url, ADMIN_KEY);
    const user = await admin.post('/users', { name: 'limited' });
    const key = (await admin.post(`/users/${user.body.id}/keys`, { limits: { rpm: 1 } })).body.key as string;
    const limited = { ...env, COLLOQUY_API_KEY: key };
    expect((await runCli(['ask', 'one'], limited)).code).toBe(0);
    const refused = await runCli(['ask', 'two'], limited);
    expect(refused.code).toBe(1);
    expectOneLine(refused, /^colloquy: over a rate limit: .+; retry in \d+s\n$/);
  });

  it('downloads a file kept on S3 through its presigned URL, sha256 checked', async () => {
    const small = join(DOCUMENT_FIXTURES, 'notes.md');
    const uploaded = JSON.parse((await runCli(['files', 'upload', small, '--json'], env)).stdout) as Array<{ id: string }>;
    const target = join(mkdtempSync(join(tmpdir(), 'colloquy-cli-s3-')), 'notes.md');
    const got = await runCli(['files', 'get', uploaded[0].id, '-o', target], env);
    expect(got).toMatchObject({ code: 0, stderr: '' });
    const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect(digest(readFileSync(target))).toBe(digest(documentFixture('notes.md')));
    // The bytes came from the bucket, not through the server.
    expect(s3.requests.filter((r) => r.startsWith('GET ') && r.includes('X-Amz-Signature'))).toHaveLength(1);
  });
});
