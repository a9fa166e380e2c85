import { inflateRawSync } from 'node:zlib';
import { DomainError } from '../../../common/errors/domain-error.js';
import { CRAFTED, HIDDEN, VISIBLE } from '../../../../test/support/crafted-docx.js';
import { documentFixture } from '../../../../test/support/documents.js';
import {
  centralHeader,
  docxMembers,
  docxPackageMembers,
  documentXml,
  endRecord,
  layOut,
  member,
  minimalDocx,
  zipArchive,
} from '../../../../test/support/zip-writer.js';
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
    expect(() => check('bomb.docx')).toThrow(
      expect.objectContaining({ code: 'archive_too_large', message: 'The DOCX expands to more than 100 MB.' }),
    );
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

describe('readZipDirectory on archives readers could disagree on', () => {
  const ambiguity = (bytes: Buffer): ZipFormatError => {
    try {
      readZipDirectory(bytes);
    } catch (err) {
      if (err instanceof ZipFormatError) return err;
      throw err;
    }
    throw new Error('expected a ZipFormatError');
  };

  it("lists where each part's data starts, so the worker inflates exactly what JSZip will", () => {
    for (const dataDescriptor of [false, true]) {
      const bytes = minimalDocx([VISIBLE], { dataDescriptor });
      const doc = readZipDirectory(bytes).entries.find((e) => e.name === 'word/document.xml')!;
      expect(inflateRawSync(bytes.subarray(doc.dataOffset, doc.dataOffset + doc.compressedSize)).toString()).toBe(documentXml([VISIBLE]));
    }
  });

  it('accepts what real writers produce: LibreOffice (data descriptors), Info-ZIP with ZIP64, Python', () => {
    for (const name of ['report.docx', 'zip64.docx', 'bomb.docx', 'lying-sizes.docx', 'archive.zip']) {
      expect(() => readZipDirectory(documentFixture(name))).not.toThrow();
    }
  });

  const reasons: Record<(typeof CRAFTED)[number][0], string> = {
    'two end-of-central-directory records': 'more than one end-of-central-directory record',
    'a local header naming another part than its central record': 'the local and central headers of word/media/image1.png disagree on its name',
    'local and central headers declaring other sizes': 'the local and central headers of word/document.xml disagree on its sizes',
    'bytes between the central directory and the end record': 'bytes between the central directory and the end record',
    'overlapping entries': 'overlapping entries',
    'two parts with one name': 'two parts named word/document.xml',
    'more central headers than the end record counts': 'a central directory that holds more than it declares',
    'bytes that belong to no entry': 'bytes that belong to no entry',
    'a data descriptor disagreeing with the central directory': 'the data descriptor of word/document.xml disagrees with the central directory',
  };
  it.each(CRAFTED)('refuses an archive with %s', (label, build) => {
    expect(ambiguity(build())).toMatchObject({ ambiguous: true, message: reasons[label] });
  });

  it('refuses an end-record signature hidden in the comment, and tells a damaged end record from an ambiguous one', () => {
    const plain = minimalDocx([VISIBLE]);
    const signature = Buffer.from('PK\x05\x06', 'latin1');
    const withComment = (comment: Buffer) => {
      const bytes = Buffer.concat([plain, comment]);
      bytes.writeUInt16LE(comment.length, plain.length - 2);
      return bytes;
    };
    expect(() => readZipDirectory(withComment(Buffer.from('an ordinary comment')))).not.toThrow();
    expect(ambiguity(withComment(Buffer.concat([Buffer.from('see '), signature])))).toMatchObject({ ambiguous: true });
    // One end record whose comment does not reach the end: damaged, not ambiguous.
    expect(ambiguity(Buffer.concat([plain, Buffer.from('trailing')]))).toMatchObject({ ambiguous: false });
  });

  it('refuses a second name in the Unicode path field', () => {
    const [types, rels, doc] = docxMembers([VISIBLE]);
    const { bytes, offsets } = layOut([types, rels, doc]);
    const unicodePath = (name: string) => {
      const path = Buffer.from(name);
      const field = Buffer.alloc(4 + 5);
      field.writeUInt16LE(0x7075, 0);
      field.writeUInt16LE(5 + path.length, 2);
      field.writeUInt8(1, 4);
      return Buffer.concat([field, path]);
    };
    const build = (pathName: string) => {
      const directory = Buffer.concat([
        centralHeader(types, offsets[0]),
        centralHeader(rels, offsets[1]),
        centralHeader(doc, offsets[2], {}, unicodePath(pathName)),
      ]);
      return Buffer.concat([bytes, directory, endRecord({ entries: 3, size: directory.length, offset: bytes.length })]);
    };
    expect(() => readZipDirectory(build('word/document.xml'))).not.toThrow();
    expect(ambiguity(build('word/other.xml'))).toMatchObject({ ambiguous: true, message: 'word/document.xml carries a second name' });
  });

  it('refuses names a reader would rewrite or take for another', () => {
    const rewritten = zipArchive([...docxPackageMembers(), member('media/../word/document.xml', documentXml([HIDDEN]))]);
    expect(ambiguity(rewritten)).toMatchObject({ ambiguous: true, message: 'a part name a reader rewrites (media/../word/document.xml)' });
    const cased = zipArchive([...docxMembers([VISIBLE]), member('Word/Document.xml', documentXml([HIDDEN]))]);
    expect(ambiguity(cased)).toMatchObject({ ambiguous: true, message: 'two parts named Word/Document.xml' });
  });

  it('refuses a compression method JSZip does not know, as damage', () => {
    const doc = { ...member('word/document.xml', documentXml([VISIBLE])), method: 12 };
    expect(ambiguity(zipArchive([...docxPackageMembers(), doc]))).toMatchObject({
      ambiguous: false,
      message: 'word/document.xml uses compression method 12',
    });
  });
});
