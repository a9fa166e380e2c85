import { DomainError } from '../../../common/errors/domain-error.js';
import { CRAFTED, HIDDEN, VISIBLE } from '../../../../test/support/crafted-docx.js';
import { documentFixture } from '../../../../test/support/documents.js';
import { pdfWithPages } from '../../../../test/support/pdf-writer.js';
import { minimalDocx } from '../../../../test/support/zip-writer.js';
import { detectType } from './content-type.js';
import { TextExtractor } from './text-extractor.js';

const MB = 1024 * 1024;
const limits = { maxUnzippedBytes: 100 * MB, maxPdfPages: 2000 };

async function rejection(promise: Promise<unknown>): Promise<DomainError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('expected a DomainError');
}

describe('TextExtractor', () => {
  const extractor = new TextExtractor();
  afterAll(() => extractor.close());

  function extract(name: string, using = extractor, owner = 'u-1') {
    const buffer = documentFixture(name);
    return using.extract(owner, buffer, detectType(buffer, name), limits);
  }

  function extractBytes(buffer: Buffer, using = extractor, owner = 'u-1', overrides: Partial<typeof limits> = {}) {
    return using.extract(owner, buffer, detectType(buffer), { ...limits, ...overrides });
  }

  it('reads a PDF with its page count', async () => {
    const { text, pages } = await extract('report.pdf');
    expect(pages).toBe(2);
    expect(text).toContain('The quarterly revenue of Zephyr Widgets rose by 42 percent.');
    expect(text).toContain('Nimbus Logistics opened its third warehouse in Rotterdam.');
    expect(text).not.toMatch(/-- \d+ of \d+ --/); // pdf-parse's page markers are left out
  });

  it('reads a DOCX, keeping paragraphs apart', async () => {
    const { text, pages } = await extract('report.docx');
    expect(pages).toBeNull();
    expect(text).toContain('The quarterly revenue of Zephyr Widgets rose by 42 percent.');
    expect(text).toMatch(/board\.\n\nThe quarterly revenue/);
  });

  it('reads a DOCX stored with ZIP64 records', async () => {
    expect((await extract('zip64.docx')).text).toContain('Nimbus Logistics opened its third warehouse in Rotterdam.');
  });

  it('decodes text as UTF-8, replacing bytes that are not', async () => {
    const { text, pages } = await extract('latin1.txt');
    expect(pages).toBeNull();
    expect(text).toBe('Le caf\ufffd du coin ouvre \ufffd sept heures.\nDeuxi\ufffdme ligne, toujours en fran\ufffdais.');
    expect((await extract('data.json')).text).toContain('"product": "Zephyr Widgets"');
  });

  it('strips a BOM and tidies whitespace without losing paragraphs', async () => {
    const long = 'A long line to keep one stray control character under the share text may have. '.repeat(2);
    const raw = Buffer.from(`\ufeffTitle   \r\n\r\n\r\n\r\nFirst\tparagraph.\u0007\nSame one.  \n\n\n\n${long}\n\n`);
    const { text } = await extractor.extract('u-1', raw, detectType(raw, 'a.txt'), limits);
    expect(text).toBe(`Title\n\nFirst\tparagraph.\nSame one.\n\n${long.trim()}`);
  });

  it('has no text for an image', async () => {
    expect(await extract('pixel.png')).toEqual({ text: null, pages: null });
  });

  it('says when a PDF is password-protected', async () => {
    const err = await rejection(extract('encrypted.pdf'));
    expect(err).toMatchObject({ kind: 'unprocessable', code: 'encrypted_file' });
    expect(err.message).toBe('The PDF is password-protected; remove the password and upload it again.');
  });

  it.each([
    ['corrupt.pdf', 'The PDF could not be read: it is damaged or not a PDF.'],
    ['corrupt.docx', 'The DOCX could not be read: it is damaged or not a DOCX.'],
  ])('says when %s is damaged', async (name, message) => {
    const err = await rejection(extract(name));
    expect(err).toMatchObject({ kind: 'unprocessable', code: 'corrupt_file', message });
  });

  it('refuses a DOCX that would expand past the limit without expanding it', async () => {
    const buffer = documentFixture('bomb.docx'); // 300 KB on disk, 300 MB expanded
    const before = process.memoryUsage();
    const started = performance.now();
    const err = await rejection(extractor.extract('u-1', buffer, detectType(buffer, 'bomb.docx'), limits));
    const elapsed = performance.now() - started;
    const after = process.memoryUsage();

    expect(err).toMatchObject({ kind: 'unprocessable', code: 'archive_too_large', message: 'The DOCX expands to more than 100 MB.' });
    expect(elapsed).toBeLessThan(100);
    expect(after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers)).toBeLessThan(50 * MB);
  });

  it('applies the configured limit', async () => {
    const buffer = documentFixture('report.docx');
    const err = await rejection(extractor.extract('u-1', buffer, detectType(buffer), { ...limits, maxUnzippedBytes: 4096 }));
    expect(err).toMatchObject({ code: 'archive_too_large', message: 'The DOCX expands to more than 0.0 MB.' });
  });

  it('refuses a DOCX under the limit whose part is deflated like a bomb', async () => {
    const err = await rejection(extract('dense.docx')); // 50 MB of zeros in 50 KB
    expect(err).toMatchObject({ kind: 'unprocessable', code: 'archive_suspicious' });
  });

  it('refuses a DOCX whose headers understate what a part expands to', async () => {
    const err = await rejection(extract('lying-sizes.docx')); // claims 1,000 bytes, holds 30 MB
    expect(err).toMatchObject({ kind: 'unprocessable', code: 'archive_suspicious' });
  });

  it('reads a 200-page PDF while the event loop keeps ticking', async () => {
    let last = performance.now();
    let worstGap = 0;
    const ticker = setInterval(() => {
      const now = performance.now();
      worstGap = Math.max(worstGap, now - last);
      last = now;
    }, 10);
    const started = performance.now();
    try {
      const { text, pages } = await extract('long-200-pages.pdf');
      expect(pages).toBe(200);
      expect(text).toContain('Page 1:');
      expect(text).toContain('Page 200:');
    } finally {
      clearInterval(ticker);
    }
    const elapsed = performance.now() - started;
    expect(elapsed).toBeGreaterThan(100); // long enough for the measurement to mean something
    expect(worstGap).toBeLessThan(100);
  });

  it('queues more documents than workers and answers each', async () => {
    const one = new TextExtractor({ poolSize: 1 });
    try {
      const names = ['report.pdf', 'report.docx', 'notes.md', 'report.pdf', 'data.csv'];
      const results = await Promise.all(names.map((name) => extract(name, one)));
      expect(results.map((r) => r.text?.split('\n')[0])).toEqual([
        'Quarterly report',
        'Quarterly report',
        '# Meeting notes',
        'Quarterly report',
        'region,quarter,revenue',
      ]);
    } finally {
      await one.close();
    }
  });

  it('gives up on a document that takes too long, and carries on with the next', async () => {
    const hasty = new TextExtractor({ poolSize: 1, timeoutMs: 200, inlineTextBytes: 0 });
    try {
      const slow = extract('long-200-pages.pdf', hasty);
      // The same owner's next file waits for the slow one: it may not take the other worker.
      const next = extract('notes.md', hasty);
      expect(await rejection(slow)).toMatchObject({
        kind: 'unprocessable',
        code: 'extraction_timeout',
        message: 'The document took too long to read.',
      });
      expect((await next).text).toContain('Meeting notes');
    } finally {
      await hasty.close();
    }
  });

  it('replaces a worker that runs out of memory', async () => {
    const small = new TextExtractor({ poolSize: 1, maxHeapMb: 8, inlineTextBytes: 0 });
    try {
      expect(await rejection(extract('long-200-pages.pdf', small))).toMatchObject({ kind: 'unprocessable', code: 'document_too_complex' });
      expect((await extract('notes.md', small)).text).toContain('Meeting notes');
    } finally {
      await small.close();
    }
  });

  it('refuses a PDF with more pages than allowed, as soon as it is opened', async () => {
    const err = await rejection(extractBytes(pdfWithPages(20_000))); // minutes of work if its pages were read
    expect(err).toMatchObject({ kind: 'unprocessable', code: 'too_many_pages', message: 'The PDF has 20000 pages; at most 2000 are read.' });
  });

  it('reads a PDF of exactly the page limit, and not one over it', async () => {
    const long = documentFixture('long-200-pages.pdf');
    expect((await extractBytes(long, extractor, 'u-1', { maxPdfPages: 200 })).pages).toBe(200);
    expect(await rejection(extractBytes(long, extractor, 'u-1', { maxPdfPages: 199 }))).toMatchObject({ code: 'too_many_pages' });
  });

  it("serves other owners while one owner's slow PDFs are being read", async () => {
    const pool = new TextExtractor({ poolSize: 2, timeoutMs: 3_000 });
    try {
      // Warm both workers, so that what follows measures waiting for a worker, not pdf.js's first import.
      await Promise.all([extract('report.pdf', pool, 'warm-1'), extract('report.pdf', pool, 'warm-2')]);
      const slow = pdfWithPages(10_000);
      let slowSettled = 0;
      const theirs = [1, 2].map(() => rejection(extractBytes(slow, pool, 'a', { maxPdfPages: 10_000 })).finally(() => slowSettled++));
      // One owner runs on every worker but one, and waits for the rest.
      expect(pool.load()).toEqual({ workers: 2, running: 1, queued: 1 });

      const mine = await extract('report.pdf', pool, 'b');
      expect(mine.pages).toBe(2);
      expect(slowSettled).toBe(0);
      for (const err of await Promise.all(theirs)) expect(err).toMatchObject({ code: 'extraction_timeout' });
    } finally {
      await pool.close();
    }
  }, 20_000);

  it("turns away one owner's surplus, not everyone's", async () => {
    const pool = new TextExtractor({ poolSize: 2, maxQueuedPerOwner: 1 });
    const slow = pdfWithPages(10_000);
    const theirs = [1, 2].map(() => rejection(extractBytes(slow, pool, 'a', { maxPdfPages: 10_000 })));
    try {
      expect(await rejection(extractBytes(slow, pool, 'a', { maxPdfPages: 10_000 }))).toMatchObject({ kind: 'unavailable', code: 'extraction_busy' });
      expect((await extract('report.pdf', pool, 'b')).pages).toBe(2);
    } finally {
      await pool.close();
    }
    for (const err of await Promise.all(theirs)) expect(err).toMatchObject({ code: 'shutting_down' });
  }, 20_000);

  it('reads small text on the spot and large text in a worker, the same way', async () => {
    const big = Buffer.from('\u0007Start.\r\n' + 'A line with trailing spaces   \r\n\r\n\r\nThe next paragraph.\f'.repeat(10_000)); // ~600 KB
    const onTheSpot = new TextExtractor({ inlineTextBytes: big.length });
    try {
      const inline = await extractBytes(big, onTheSpot);
      expect(onTheSpot.load().workers).toBe(0);
      expect(inline.text).toMatch(/^Start\.\nA line with trailing spaces\n\nThe next paragraph\.\n\nA line/);
      expect((await extractBytes(big)).text).toBe(inline.text);
    } finally {
      await onTheSpot.close();
    }
  });

  it('reads a minimal DOCX, with or without data descriptors', async () => {
    for (const dataDescriptor of [false, true]) {
      expect((await extractBytes(minimalDocx([VISIBLE], { dataDescriptor }))).text).toBe(VISIBLE);
    }
  });

  it.each(CRAFTED)('refuses a DOCX with %s, whatever JSZip would have read', async (_label, build) => {
    const err = await rejection(extractBytes(build()));
    expect(err).toMatchObject({ kind: 'unprocessable', code: 'archive_suspicious' });
    expect(err.message).not.toContain(HIDDEN);
  });

  it('refuses work once closed', async () => {
    const closing = new TextExtractor();
    await closing.close();
    expect(await rejection(extract('notes.md', closing))).toMatchObject({ kind: 'unavailable' });
  });
});
