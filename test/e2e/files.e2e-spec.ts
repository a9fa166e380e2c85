import { createHash } from 'node:crypto';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import OpenAI, { toFile } from 'openai';
import { documentFixture } from '../support/documents.js';
import { client, expectError } from '../support/http.js';
import { assertOpenAI } from '../support/openai-schemas.js';
import { startS3rver, type S3rverHandle } from '../support/s3rver.js';
import { startStandInUpstream, type StandInUpstream } from '../support/stand-in-upstream.js';
import { STANDIN_PRICING, writeTestConfig } from '../support/test-config.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const sha256 = (b: Buffer | ArrayBuffer) =>
  createHash('sha256')
    .update(Buffer.from(b as ArrayBuffer))
    .digest('hex');

/** A text file just over the 1 MB MAX_FILE_MB these tests run with. */
const OVERSIZED = Buffer.from('All work and no play. '.repeat(50_000));

function form(files: Array<[field: string, fixture: string, name?: string]>, fields: Record<string, string> = {}): FormData {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) data.append(name, value);
  for (const [field, fixture, name] of files) {
    data.append(field, new Blob([fixture === 'oversized.txt' ? OVERSIZED : documentFixture(fixture)]), name ?? fixture);
  }
  return data;
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

describe.each(['local', 's3'] as const)('files on the %s driver', (driver) => {
  let upstream: StandInUpstream;
  let s3: S3rverHandle | null = null;
  let t: TestApp;
  let api: ReturnType<typeof client>;

  beforeAll(async () => {
    upstream = await startStandInUpstream();
    const env: Record<string, string> = {
      CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }, { limits: { max_file_tokens: 2_000, max_attachment_tokens: 3_000 } }),
      MAX_FILE_MB: '1',
      MAX_FILES_PER_REQUEST: '3',
      UPSTREAM_MAX_RETRIES: '0',
    };
    if (driver === 's3') {
      s3 = await startS3rver({ bucket: 'files-e2e' });
      Object.assign(env, {
        S3_BUCKET: s3.bucket,
        S3_ENDPOINT: s3.endpoint,
        S3_ACCESS_KEY_ID: s3.accessKeyId,
        S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
        S3_FORCE_PATH_STYLE: 'true',
      });
    }
    t = await startTestApp({ env });
    api = client(t.url, t.adminKey);
  });
  afterAll(async () => {
    await t.close();
    await upstream.close();
    await s3?.stop();
  });
  beforeEach(() => upstream.reset());

  /** Every stored blob key, whichever the driver. */
  async function blobKeys(): Promise<string[]> {
    if (!s3) return walk(join(t.dataDir, 'blobs')).filter((p) => !p.endsWith('.partial'));
    const s3client = new S3Client({
      endpoint: s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const listed = await s3client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
    s3client.destroy();
    return (listed.Contents ?? []).map((o) => o.Key!);
  }

  async function stored() {
    return { rows: await t.prisma.file.count(), blobs: (await blobKeys()).length };
  }

  it('uploads, describes, lists, downloads byte for byte, and deletes', async () => {
    const upload = await api.post(
      '/files/upload',
      form(
        [
          ['files', 'report.pdf'],
          ['files', 'report.docx'],
          ['file', 'photo.jpg'],
        ],
        { purpose: 'assistants' },
      ),
    );
    expect(upload.status).toBe(201);
    const [pdf, docx, jpg] = upload.body.data;
    expect(pdf).toMatchObject({
      object: 'file',
      filename: 'report.pdf',
      mime_type: 'application/pdf',
      kind: 'pdf',
      pages: 2,
      bytes: documentFixture('report.pdf').length,
      sha256: sha256(documentFixture('report.pdf')),
      purpose: 'assistants',
      status: 'processed',
    });
    expect(pdf.tokens).toBeGreaterThan(10);
    expect(docx).toMatchObject({ kind: 'docx', mime_type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document' });
    expect(jpg).toMatchObject({ kind: 'image', mime_type: 'image/jpeg', tokens: null });

    for (const file of [pdf, docx, jpg]) {
      const res = await fetch(`${t.url}/files/${file.id}/content`, { headers: { authorization: `Bearer ${t.adminKey}` } });
      expect(res.status).toBe(200);
      expect(sha256(await res.arrayBuffer())).toBe(file.sha256);
      if (driver === 's3') expect(res.redirected).toBe(true);
      else expect(res.headers.get('content-disposition')).toContain(file.filename);
    }
    const streamed = await fetch(`${t.url}/files/${pdf.id}/content?download=true`, { headers: { authorization: `Bearer ${t.adminKey}` } });
    expect(streamed.redirected).toBe(false);
    expect(sha256(await streamed.arrayBuffer())).toBe(pdf.sha256);

    expect((await api.get(`/files/${pdf.id}`)).body).toEqual(pdf);
    const list = await api.get('/files?purpose=assistants');
    expect(list.body.data.map((f: { id: string }) => f.id)).toEqual([jpg.id, docx.id, pdf.id]);
    expect((await api.delete(`/files/${pdf.id}`)).body).toEqual({ id: pdf.id, object: 'file', deleted: true });
    expectError(await api.get(`/files/${pdf.id}`), 404);
    expectError(await api.get(`/files/${pdf.id}/content`), 404);
    expect(await blobKeys()).toHaveLength(2);
    await api.delete(`/files/${docx.id}`);
    await api.delete(`/files/${jpg.id}`);
    expect(await stored()).toEqual({ rows: 0, blobs: 0 });
  });

  it.each([
    ['an encrypted PDF', 'encrypted.pdf', 422, 'encrypted_file'],
    ['a corrupt PDF', 'corrupt.pdf', 422, 'corrupt_file'],
    ['a corrupt DOCX', 'corrupt.docx', 422, 'corrupt_file'],
    ['a zip bomb', 'bomb.docx', 422, 'archive_too_large'],
    ['an executable renamed .pdf', 'program.pdf', 415, 'unsupported_file_type'],
    ['an empty file', 'empty.txt', 400, 'empty_file'],
    ['a file over MAX_FILE_MB', 'oversized.txt', 413, 'file_too_large'],
  ])('refuses %s with its status and leaves nothing stored', async (_label, fixture, status, code) => {
    const res = await api.post(
      '/files/upload',
      form([
        ['file', 'report.docx'],
        ['file', fixture],
      ]),
    );
    const error = expectError(res, status, code);
    expect(error.message.length).toBeGreaterThan(10);
    assertOpenAI('ErrorResponse', res.body);
    expect(await stored()).toEqual({ rows: 0, blobs: 0 });
  });

  it('refuses too many files in one request with 413, keeping none of them', async () => {
    const res = await api.post(
      '/files/upload',
      form([
        ['files', 'notes.md'],
        ['files', 'data.csv'],
        ['files', 'data.json'],
        ['files', 'pixel.png'],
      ]),
    );
    expectError(res, 413);
    expect(await stored()).toEqual({ rows: 0, blobs: 0 });
  });

  it('detects the type from the bytes, not the name', async () => {
    const res = await api.post(
      '/files/upload',
      form([
        ['file', 'pixel.png', 'looks-like.pdf'],
        ['file', 'notes.md'],
        ['file', 'data.json', 'data.txt'],
      ]),
    );
    expect(res.body.data.map((f: { mime_type: string }) => f.mime_type)).toEqual(['image/png', 'text/markdown', 'application/json']);
    const latin1 = await api.post('/files/upload', form([['file', 'latin1.txt']]));
    expect(latin1.body.data[0]).toMatchObject({ mime_type: 'text/plain', kind: 'text' });
    for (const f of [...res.body.data, ...latin1.body.data]) await api.delete(`/files/${f.id}`);
  });

  it('sends a real PDF and DOCX through multipart /chat: the model reads their text, usage and cost count it', async () => {
    const plain = await api.post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'Summarise the attachments.' }] });
    const withFiles = new FormData();
    withFiles.append('messages', JSON.stringify([{ role: 'user', content: 'Summarise the attachments.' }]));
    withFiles.append('model', 'standin-gpt');
    withFiles.append('temperature', '0.3');
    withFiles.append('tags', 'reports,q3');
    withFiles.append('files', new Blob([documentFixture('report.pdf')]), 'report.pdf');
    withFiles.append('files', new Blob([documentFixture('report.docx')]), 'report.docx');
    const res = await api.post('/chat', withFiles);
    expect(res.status).toBe(200);

    const sent = upstream.requests.at(-1)!.body!;
    expect(sent.temperature).toBe(0.3);
    const parts = (sent.messages as Array<{ role: string; content: Array<{ type: string; text: string }> }>).at(-1)!.content;
    const texts = parts.map((p) => p.text);
    expect(texts[0]).toBe('Summarise the attachments.');
    expect(texts[1]).toMatch(/^\[file: report\.pdf, 2 pages\]\n/);
    expect(texts[2]).toMatch(/^\[file: report\.docx\]\n/);
    expect(texts.join('\n')).toContain('Zephyr Widgets');
    expect(res.body.usage.prompt_tokens).toBeGreaterThan(plain.body.usage.prompt_tokens + 50);
    expect(res.body.cost).toBe(
      Math.round(res.body.usage.prompt_tokens * STANDIN_PRICING.input + res.body.usage.completion_tokens * STANDIN_PRICING.output) / 1e6,
    );

    // The stored message keeps references, not the text; the conversation lists its files.
    const messages = await api.get(`/conversations/${res.body.conversation_id}/messages`);
    const storedContent = JSON.stringify(messages.body.data[0].content);
    expect(storedContent).not.toContain('Zephyr');
    expect(messages.body.data[0].content.filter((p: { type: string }) => p.type === 'file')).toHaveLength(2);
    const conversation = await api.get(`/conversations/${res.body.conversation_id}`);
    expect(conversation.body.files.map((f: { filename: string }) => f.filename)).toEqual(['report.pdf', 'report.docx']);
    expect(conversation.body.tags).toEqual(['reports', 'q3']);
    const byConversation = await api.get(`/files?conversation_id=${res.body.conversation_id}`);
    expect(byConversation.body.data).toHaveLength(2);

    // The next turn still gives the model the documents, from the stored references.
    await api.post('/chat', { conversation_id: res.body.conversation_id, messages: [{ role: 'user', content: 'And the revenue?' }] });
    expect(JSON.stringify(upstream.requests.at(-1)!.body!.messages)).toContain('Zephyr Widgets');

    // Deleting the conversation keeps the files; deleting a file leaves the conversation usable.
    const ids = conversation.body.files.map((f: { id: string }) => f.id);
    await api.delete(`/conversations/${res.body.conversation_id}`);
    expect((await api.get(`/files/${ids[0]}`)).status).toBe(200);
    for (const id of ids) await api.delete(`/files/${id}`);
    expect(await stored()).toEqual({ rows: 0, blobs: 0 });
  });

  it('keeps no uploaded file when a multipart /chat fails', async () => {
    upstream.setDefault({ kind: 'error', status: 500 });
    const data = new FormData();
    data.append('messages', JSON.stringify([{ role: 'user', content: 'x' }]));
    data.append('model', 'standin-gpt');
    data.append('files', new Blob([documentFixture('report.pdf')]), 'report.pdf');
    expectError(await api.post('/chat', data), 502);
    const invalid = new FormData();
    invalid.append('messages', '[{"role":"wizard"}]');
    invalid.append('files', new Blob([documentFixture('report.pdf')]), 'report.pdf');
    expectError(await api.post('/chat', invalid), 400);
    const broken = new FormData();
    broken.append('messages', 'not json');
    broken.append('files', new Blob([documentFixture('report.pdf')]), 'report.pdf');
    expectError(await api.post('/chat', broken), 400);
    expect(await stored()).toEqual({ rows: 0, blobs: 0 });
  });

  it('trims long documents to the token budget on a boundary, with a visible note', async () => {
    const big = await api.post('/files/upload', form([['file', 'long-200-pages.pdf']]));
    expect(big.status).toBe(201);
    const id = big.body.data[0].id;
    await api.post('/chat', { model: 'standin-gpt', messages: [{ role: 'user', content: 'Read it.' }], file_ids: [id] });
    const text = (upstream.requests.at(-1)!.body!.messages as Array<{ content: Array<{ text: string }> }>).at(-1)!.content[1].text;
    expect(text).toMatch(/^\[file: long-200-pages\.pdf, 200 pages\]/);
    expect(text).toMatch(/\[truncated: \d+ of \d+ tokens\]$/);
    await api.delete(`/files/${id}`);
  });

  it('gives images to vision models as image parts, and refuses them for the others', async () => {
    const up = await api.post('/files/upload', form([['file', 'pixel.png', 'chart.png']]));
    const id = up.body.data[0].id;
    const res = await api.post('/chat', {
      model: 'standin-gpt',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'file', file: { file_id: id } },
          ],
        },
      ],
    });
    expect(res.status).toBe(200);
    const parts = (
      upstream.requests.at(-1)!.body!.messages as Array<{ content: Array<{ type: string; text?: string; image_url?: { url: string } }> }>
    ).at(-1)!.content;
    expect(parts.map((p) => p.type)).toEqual(['text', 'text', 'image_url']);
    expect(parts[1].text).toBe('[image: chart.png]');
    expect(parts[2].image_url!.url).toBe(`data:image/png;base64,${documentFixture('pixel.png').toString('base64')}`);

    const echo = await api.post('/chat', { model: 'colloquy/echo', messages: [{ role: 'user', content: 'Describe' }], file_ids: [id] });
    expect(echo.body.choices[0].message.content).toBe('Describe\n📎 chart.png (image/png)');

    const refused = await api.post('/chat', { model: 'standin-text', messages: [{ role: 'user', content: 'What is this?' }], file_ids: [id] });
    const error = expectError(refused, 400, 'model_not_vision_capable');
    expect(error.message).toContain('standin-text');
    upstream.reset();
    const inline = await api.post('/v1/chat/completions', {
      model: 'standin-text',
      messages: [
        {
          role: 'user',
          content: [{ type: 'image_url', image_url: { url: `data:image/png;base64,${documentFixture('pixel.png').toString('base64')}` } }],
        },
      ],
    });
    expectError(inline, 400, 'model_not_vision_capable');
    expect(upstream.requests).toHaveLength(0);
    await api.delete(`/files/${id}`);
  });

  it('checks images sent inline as data URLs like uploads: size and type from the bytes', async () => {
    const send = (url: string) =>
      api.post('/v1/chat/completions', {
        model: 'standin-gpt',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'x' },
              { type: 'image_url', image_url: { url } },
            ],
          },
        ],
      });
    expect((await send(`data:image/png;base64,${documentFixture('pixel.png').toString('base64')}`)).status).toBe(200);
    expectError(await send(`data:image/png;base64,${Buffer.alloc(1_200_000, 1).toString('base64')}`), 413);
    expectError(await send(`data:image/png;base64,${documentFixture('report.pdf').toString('base64')}`), 415);
    expectError(await send('data:image/png;base64,@@not-base64@@'), 400);
  });

  it('references uploads from JSON requests, and answers 404 for files that are not yours', async () => {
    const up = await api.post('/files/upload', form([['file', 'notes.md']]));
    const id = up.body.data[0].id;
    const res = await api.post('/v1/chat/completions', {
      model: 'standin-gpt',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Read' },
            { type: 'file', file: { file_id: id } },
          ],
        },
      ],
    });
    expect(res.status).toBe(200);
    expect(JSON.stringify(upstream.requests.at(-1)!.body!.messages)).toContain('[file: notes.md]');
    const other = await api.post('/users', { name: 'stranger' });
    const stranger = client(t.url, (await api.post(`/users/${other.body.id}/keys`, {})).body.key);
    expectError(await stranger.get(`/files/${id}`), 404);
    expectError(await stranger.delete(`/files/${id}`), 404);
    expectError(await stranger.post('/chat', { messages: [{ role: 'user', content: 'x' }], file_ids: [id] }), 404, 'file_not_found');
    await api.delete(`/files/${id}`);
  });

  it('serves the OpenAI Files API to the official SDK', async () => {
    const sdk = new OpenAI({ apiKey: t.adminKey, baseURL: `${t.url}/v1`, maxRetries: 0 });
    const created = await sdk.files.create({ file: await toFile(documentFixture('report.pdf'), 'report.pdf'), purpose: 'user_data' });
    assertOpenAI('OpenAIFile', created);
    expect(created).toMatchObject({ object: 'file', filename: 'report.pdf', purpose: 'user_data', bytes: documentFixture('report.pdf').length });
    const list = await sdk.files.list();
    expect(list.data.map((f) => f.id)).toContain(created.id);
    assertOpenAI('OpenAIFile', await sdk.files.retrieve(created.id));
    const content = await sdk.files.content(created.id);
    expect(sha256(await content.arrayBuffer())).toBe(sha256(documentFixture('report.pdf')));
    const deleted = await sdk.files.delete(created.id);
    assertOpenAI('DeleteFileResponse', deleted);
    expect(deleted).toEqual({ id: created.id, object: 'file', deleted: true });
    await expect(sdk.files.retrieve(created.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(sdk.files.create({ file: await toFile(documentFixture('program.pdf'), 'program.pdf'), purpose: 'user_data' })).rejects.toMatchObject(
      { status: 415 },
    );
    expect(await stored()).toEqual({ rows: 0, blobs: 0 });
  });

  it('answers a multipart body on a JSON route with 415', async () => {
    expectError(await api.post('/users', form([['file', 'notes.md']])), 415);
    expectError(await api.post('/files/upload', { not: 'multipart' }), 415);
  });
});
