import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CRAFTED, HIDDEN, VISIBLE } from '../support/crafted-docx.js';
import { documentFixture } from '../support/documents.js';
import { expectError } from '../support/http.js';
import { pdfWithPages } from '../support/pdf-writer.js';
import { startStandInUpstream, type StandInUpstream } from '../support/stand-in-upstream.js';
import { writeTestConfig } from '../support/test-config.js';
import { startTestApp, waitFor, type TestApp } from '../support/test-app.js';
import { createUser, type TestUser } from '../support/users.js';
import { minimalDocx } from '../support/zip-writer.js';

/** Uploads are refused before extraction is tried on these files, or it is stopped after 3 s. */
const TIMEOUT_MS = 3_000;
const MAX_PAGES = 10_000;

function form(name: string, bytes: Buffer): FormData {
  const data = new FormData();
  data.append('file', new Blob([bytes]), name);
  return data;
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

describe('document extraction under hostile input', () => {
  let upstream: StandInUpstream;
  let t: TestApp;

  beforeAll(async () => {
    upstream = await startStandInUpstream();
    t = await startTestApp({
      env: {
        CONFIG_FILE: writeTestConfig({ primary: upstream.baseUrl }),
        MAX_PDF_PAGES: String(MAX_PAGES),
        EXTRACTION_TIMEOUT_MS: String(TIMEOUT_MS),
      },
    });
  });
  afterAll(async () => {
    await t.close();
    await upstream.close();
  });

  /** A user's stored files: rows and blobs (the local driver keeps blobs under blobs/files/<user>/). */
  async function stored(user: TestUser) {
    const blobs = walk(join(t.dataDir, 'blobs', 'files', user.id)).filter((p) => !p.endsWith('.partial'));
    return { rows: await t.prisma.file.count({ where: { userId: user.id } }), blobs: blobs.length };
  }

  describe('PDF page limit', () => {
    it('refuses a PDF with more pages than MAX_PDF_PAGES, before reading them, and keeps nothing', async () => {
      const user = await createUser(t.url, t.adminKey);
      const crafted = pdfWithPages(20_000); // about 2 MB; reading every page would take minutes
      const res = await user.api.post('/files/upload', form('pages.pdf', crafted));
      const error = expectError(res, 422, 'too_many_pages');
      expect(error.message).toBe(`The PDF has 20000 pages; at most ${MAX_PAGES} are read.`);
      expect(await stored(user)).toEqual({ rows: 0, blobs: 0 });
    });

    it('still reads a long but ordinary PDF', async () => {
      const user = await createUser(t.url, t.adminKey);
      const res = await user.api.post('/files/upload', form('long.pdf', documentFixture('long-200-pages.pdf')));
      expect(res.status).toBe(201);
      expect(res.body.data[0]).toMatchObject({ kind: 'pdf', pages: 200 });
    });
  });

  describe('fairness and the time bound', () => {
    it("lets another user's uploads through while one user's slow PDFs hold workers, then stops those at the time bound", async () => {
      const a = await createUser(t.url, t.adminKey);
      const b = await createUser(t.url, t.adminKey);
      // Warm the workers first (one document each for two users), so that what is compared
      // below is waiting for a worker, not pdf.js's first import.
      const warm = await Promise.all([a, b].map((u) => u.api.post('/files/upload', form('report.pdf', documentFixture('report.pdf')))));
      expect(warm.map((r) => r.status)).toEqual([201, 201]);
      const before = await stored(a);

      // Two PDFs under the page limit that would take a minute or more each: A asks for as many
      // workers as the old pool had on this machine and more.
      const slow = pdfWithPages(MAX_PAGES);
      let aSettled = false;
      const aUploads = Promise.all([1, 2].map((n) => a.api.post('/files/upload', form(`slow-${n}.pdf`, slow)))).finally(() => {
        aSettled = true;
      });
      // Both of A's files are stored (and so handed to extraction) before B arrives.
      await waitFor(async () => (await stored(a)).blobs === before.blobs + 2);

      const text = await b.api.post('/files/upload', form('note.txt', Buffer.from('A five-minute note.')));
      expect(text.status).toBe(201);
      expect(aSettled).toBe(false);
      const pdf = await b.api.post('/files/upload', form('report.pdf', documentFixture('report.pdf')));
      expect(pdf.status).toBe(201);
      expect(pdf.body.data[0]).toMatchObject({ kind: 'pdf', pages: 2 });
      expect(aSettled).toBe(false);

      // A's files overrun EXTRACTION_TIMEOUT_MS: 422, their workers replaced, nothing of theirs kept.
      const results = await aUploads;
      for (const res of results) {
        const error = expectError(res, 422, 'extraction_timeout');
        expect(error.message).toBe('The document took too long to read.');
      }
      expect(await stored(a)).toEqual(before);
      const after = await a.api.post('/files/upload', form('report.pdf', documentFixture('report.pdf')));
      expect(after.status).toBe(201);
    }, 60_000);
  });

  describe('DOCX archives that readers could disagree on', () => {
    it.each(CRAFTED)('refuses a DOCX with %s with 422 and keeps nothing', async (_label, build) => {
      const user = await createUser(t.url, t.adminKey);
      const res = await user.api.post('/files/upload', form('crafted.docx', build()));
      const error = expectError(res, 422, 'archive_suspicious');
      expect(error.message).toMatch(/^The DOCX is built so that readers could disagree on what it holds \(.+\); it is refused\.$/);
      expect(error.message).not.toContain(HIDDEN);
      expect(await stored(user)).toEqual({ rows: 0, blobs: 0 });
    });

    it('reads an ordinary DOCX, with or without data descriptors', async () => {
      const user = await createUser(t.url, t.adminKey);
      for (const dataDescriptor of [false, true]) {
        const res = await user.api.post('/files/upload', form('plain.docx', minimalDocx([VISIBLE], { dataDescriptor })));
        expect(res.status).toBe(201);
        const file = await t.prisma.file.findUniqueOrThrow({ where: { id: res.body.data[0].id } });
        expect(file.text).toBe(VISIBLE);
      }
    });
  });
});
