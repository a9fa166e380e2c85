import { DomainError } from '../../../common/errors/domain-error.js';
import { documentFixture } from '../../../../test/support/documents.js';
import { detectType } from './content-type.js';
import { TextExtractor } from './text-extractor.js';

const MB = 1024 * 1024;
const limits = { maxUnzippedBytes: 100 * MB };

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

  function extract(name: string, using = extractor) {
    const buffer = documentFixture(name);
    return using.extract(buffer, detectType(buffer, name), limits);
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
    const { text } = await extractor.extract(raw, detectType(raw, 'a.txt'), limits);
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
    const err = await rejection(extractor.extract(buffer, detectType(buffer, 'bomb.docx'), limits));
    const elapsed = performance.now() - started;
    const after = process.memoryUsage();

    expect(err).toMatchObject({ kind: 'unprocessable', code: 'archive_too_large', message: 'The DOCX expands to more than 100 MB.' });
    expect(elapsed).toBeLessThan(100);
    expect(after.heapUsed + after.arrayBuffers - (before.heapUsed + before.arrayBuffers)).toBeLessThan(50 * MB);
  });

  it('applies the configured limit', async () => {
    const buffer = documentFixture('report.docx');
    const err = await rejection(extractor.extract(buffer, detectType(buffer), { maxUnzippedBytes: 4096 }));
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
    const hasty = new TextExtractor({ poolSize: 1, timeoutMs: 200 });
    try {
      const slow = extract('long-200-pages.pdf', hasty);
      const next = extract('notes.md', hasty);
      expect(await rejection(slow)).toMatchObject({ kind: 'unprocessable', code: 'extraction_timeout', message: 'The document took too long to read.' });
      expect((await next).text).toContain('Meeting notes');
    } finally {
      await hasty.close();
    }
  });

  it('replaces a worker that runs out of memory', async () => {
    const small = new TextExtractor({ poolSize: 1, maxHeapMb: 8 });
    try {
      expect(await rejection(extract('long-200-pages.pdf', small))).toMatchObject({ kind: 'unprocessable', code: 'document_too_complex' });
      expect((await extract('notes.md', small)).text).toContain('Meeting notes');
    } finally {
      await small.close();
    }
  });

  it('refuses work once closed', async () => {
    const closing = new TextExtractor();
    await closing.close();
    expect(await rejection(extract('notes.md', closing))).toMatchObject({ kind: 'unavailable' });
  });
});
