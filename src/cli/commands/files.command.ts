import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ApiClient, ListPage } from '../api-client.js';
import { ApiError } from '../api-error.js';
import type { FileInfo } from '../api-types.js';
import { expandPath, uploadFiles } from '../attachments.js';
import type { CommandSpec } from '../command-spec.js';
import { expectArgs, intOption, stringOption } from '../command-spec.js';
import { formatBytes, formatCount, formatTime, truncate } from '../format.js';
import { expectId } from '../ids.js';
import { formatTable } from '../table.js';
import { UsageError } from '../usage-error.js';

function fileTable(files: FileInfo[]): string {
  const rows = files.map((f) => [
    f.id,
    truncate(f.filename, 40),
    f.kind,
    formatBytes(f.bytes),
    f.pages == null ? '' : String(f.pages),
    f.tokens == null ? '' : formatCount(f.tokens),
    formatTime(f.created_at),
  ]);
  return formatTable(
    [
      { header: 'ID' },
      { header: 'NAME' },
      { header: 'KIND' },
      { header: 'SIZE', align: 'right' },
      { header: 'PAGES', align: 'right' },
      { header: 'TOKENS', align: 'right' },
      { header: 'UPLOADED' },
    ],
    rows,
  );
}

const upload: CommandSpec = {
  name: 'files upload',
  usage: 'PATH... [--json]',
  summary: 'upload files (all or none); the type is detected by the server',
  options: { json: { type: 'boolean' } },
  optionHelp: [['--json', 'the uploaded file objects']],
  async run(ctx, { values, positionals }) {
    expectArgs(this, positionals, 1, Infinity);
    const files = await uploadFiles(ctx.client(), positionals);
    ctx.io.stdout.write(values.json ? JSON.stringify(files, null, 2) + '\n' : fileTable(files));
  },
};

const list: CommandSpec = {
  name: 'files list',
  usage: '[--limit N] [--json]',
  summary: 'your files, most recent first',
  options: { limit: { type: 'string' }, json: { type: 'boolean' } },
  optionHelp: [
    ['--limit N', 'how many (default 20, at most 100)'],
    ['--json', 'the raw list'],
  ],
  async run(ctx, { values, positionals }) {
    expectArgs(this, positionals, 0);
    const page = await ctx.client().get<ListPage<FileInfo>>('/files', { limit: intOption(values, 'limit', 20, 100) });
    if (values.json) return void ctx.io.stdout.write(JSON.stringify(page, null, 2) + '\n');
    if (!page.data.length) return void ctx.io.stdout.write('No files yet: `colloquy files upload PATH`.\n');
    ctx.io.stdout.write(fileTable(page.data));
  },
};

/**
 * The bytes of a file. Local storage streams them; S3 answers a redirect to a presigned URL, which
 * a client outside the server's network may not reach: then the server is asked to stream them.
 */
async function openContent(client: ApiClient, id: string): Promise<Response> {
  const path = `/files/${id}/content`;
  const first = await client.request('GET', path, { redirect: 'manual', accept: '*/*' });
  const location = first.status >= 300 && first.status < 400 ? first.headers.get('location') : null;
  if (!location) return first;
  try {
    const presigned = await fetch(new URL(location, client.baseUrl));
    if (presigned.ok && presigned.body) return presigned;
    await presigned.body?.cancel();
  } catch {
    // Not reachable from here: fall back to the server.
  }
  return client.request('GET', path, { query: { download: 'true' }, accept: '*/*' });
}

const get: CommandSpec = {
  name: 'files get',
  usage: 'ID [-o PATH]',
  summary: "download a file's bytes (sha256 checked)",
  options: { output: { type: 'string', short: 'o' }, force: { type: 'boolean', short: 'f' } },
  optionHelp: [
    ['-o, --output PATH', "where to write: a path, or - for stdout (default: the file's name here)"],
    ['-f, --force', 'replace an existing file of that name'],
  ],
  async run(ctx, { values, positionals }) {
    const id = expectId(expectArgs(this, positionals, 1)[0], 'file');
    const client = ctx.client();
    const info = await client.get<FileInfo>(`/files/${id}`);
    const output = stringOption(values, 'output');
    const toStdout = output === '-';
    const target = toStdout ? null : expandPath(output ?? basename(info.filename));
    if (target && existsSync(target) && !output && !values.force) {
      throw new UsageError(`${basename(target)} already exists here: choose another path with -o, or --force to replace it`);
    }
    const res = await openContent(client, id);
    if (!res.body) throw new ApiError('http', 'the server sent no content', { url: client.baseUrl });
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    if (!target) {
      await pipeline(body, hashing, ctx.io.stdout, { end: false });
      if (hash.digest('hex') !== info.sha256) throw new ApiError('stream', `the download of ${id} does not match its sha256`);
      return;
    }
    // Written beside the target, then renamed: an interrupted download never looks like a finished one.
    const temp = join(dirname(target), `.${basename(target)}.colloquy-${process.pid}.part`);
    try {
      await pipeline(body, hashing, createWriteStream(temp));
      if (hash.digest('hex') !== info.sha256) throw new ApiError('stream', `the download of ${id} does not match its sha256`);
      renameSync(temp, target);
    } finally {
      rmSync(temp, { force: true });
    }
    ctx.io.stdout.write(`Saved ${info.filename} to ${target} (${formatBytes(info.bytes)}, sha256 verified)\n`);
  },
};

const remove: CommandSpec = {
  name: 'files delete',
  usage: 'ID',
  summary: 'delete a file (messages that used it keep their text)',
  options: { json: { type: 'boolean' } },
  async run(ctx, { values, positionals }) {
    const id = expectId(expectArgs(this, positionals, 1)[0], 'file');
    const deleted = await ctx.client().delete<object>(`/files/${id}`);
    ctx.io.stdout.write(values.json ? JSON.stringify(deleted, null, 2) + '\n' : `Deleted file ${id}\n`);
  },
};

export const fileCommands: CommandSpec[] = [upload, list, get, remove];
