import { DomainError } from '../../../common/errors/domain-error.js';
import { documentFixture } from '../../../../test/support/documents.js';
import { assertArchiveWithinLimits, readZipDirectory, ZipFormatError } from './zip-inspect.js';

const MB = 1024 * 1024;

describe('readZipDirectory', () => {
  it('lists a DOCX from its central directory', () => {
    const dir = readZipDirectory(documentFixture('report.docx'));
    expect(dir.zip64).toBe(false);
    expect(dir.entries.map((e) => e.name)).toEqual(expect.arrayContaining(['[Content_Types].xml', 'word/document.xml']));
    expect(dir.totalUncompressed).toBe(dir.entries.reduce((n, e) => n + e.uncompressedSize, 0));
  });

  it('reads ZIP64 records and sizes', () => {
    const plain = readZipDirectory(documentFixture('report.docx'));
    const dir = readZipDirectory(documentFixture('zip64.docx'));
    expect(dir.zip64).toBe(true);
    const size = (d: typeof dir, name: string) => d.entries.find((e) => e.name === name)?.uncompressedSize;
    expect(size(dir, 'word/document.xml')).toBe(size(plain, 'word/document.xml'));
  });

  it('declares the bomb for what it is without inflating it', () => {
    const dir = readZipDirectory(documentFixture('bomb.docx'));
    expect(dir.totalUncompressed).toBeGreaterThan(300 * MB);
  });

  it('fails on a damaged directory and on what is not a ZIP', () => {
    expect(() => readZipDirectory(documentFixture('corrupt.docx'))).toThrow(ZipFormatError);
    expect(() => readZipDirectory(documentFixture('report.pdf'))).toThrow(ZipFormatError);
    expect(() => readZipDirectory(Buffer.alloc(0))).toThrow(ZipFormatError);
  });

  it('refuses too many entries before listing them', () => {
    expect(() => readZipDirectory(documentFixture('report.docx'), 3)).toThrow(DomainError);
  });
});

describe('assertArchiveWithinLimits', () => {
  const check = (name: string, maxUnzippedBytes = 100 * MB) =>
    assertArchiveWithinLimits(readZipDirectory(documentFixture(name)), { maxUnzippedBytes });

  it('passes an ordinary DOCX', () => {
    expect(() => check('report.docx')).not.toThrow();
  });

  it('refuses an archive that expands past the limit', () => {
    expect(() => check('bomb.docx')).toThrow(expect.objectContaining({ code: 'archive_too_large', message: 'The DOCX expands to more than 100 MB.' }));
    expect(() => check('report.docx', 1024)).toThrow(expect.objectContaining({ code: 'archive_too_large' }));
  });

  it('refuses a part deflated far beyond what documents reach, even under the limit', () => {
    expect(() => check('dense.docx')).toThrow(expect.objectContaining({ kind: 'unprocessable', code: 'archive_suspicious' }));
  });

  it('refuses more parts than allowed', () => {
    const dir = readZipDirectory(documentFixture('report.docx'));
    expect(() => assertArchiveWithinLimits(dir, { maxUnzippedBytes: 100 * MB, maxEntries: 3 })).toThrow(
      expect.objectContaining({ code: 'archive_suspicious' }),
    );
  });
});
