import { randomBytes } from 'node:crypto';
import { DomainError } from '../../../common/errors/domain-error.js';
import { documentFixture } from '../../../../test/support/documents.js';
import { detectType } from './content-type.js';

function rejection(fn: () => unknown): DomainError {
  try {
    fn();
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error('expected a DomainError');
}

describe('detectType', () => {
  it.each([
    ['report.pdf', 'application/pdf', 'pdf', 'pdf'],
    ['encrypted.pdf', 'application/pdf', 'pdf', 'pdf'],
    ['long-200-pages.pdf', 'application/pdf', 'pdf', 'pdf'],
    ['corrupt.pdf', 'application/pdf', 'pdf', 'pdf'],
    ['report.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'docx', 'docx'],
    ['corrupt.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'docx', 'docx'],
    ['zip64.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'docx', 'docx'],
    ['bomb.docx', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document', 'docx', 'docx'],
    ['pixel.png', 'image/png', 'image', 'png'],
    ['photo.jpg', 'image/jpeg', 'image', 'jpg'],
    ['anim.gif', 'image/gif', 'image', 'gif'],
    ['image.webp', 'image/webp', 'image', 'webp'],
    ['notes.md', 'text/markdown', 'text', 'md'],
    ['data.csv', 'text/csv', 'text', 'csv'],
    ['data.json', 'application/json', 'text', 'json'],
    ['latin1.txt', 'text/plain', 'text', 'txt'],
  ])('detects %s as %s', (name, mime, kind, extension) => {
    expect(detectType(documentFixture(name), name)).toEqual({ mime, kind, extension });
  });

  it('goes by content, not by name', () => {
    expect(detectType(documentFixture('pixel.png'), 'invoice.pdf').mime).toBe('image/png');
    expect(detectType(documentFixture('report.pdf'), 'notes.txt').mime).toBe('application/pdf');
    expect(detectType(documentFixture('report.docx'), 'report.zip').kind).toBe('docx');
    expect(detectType(documentFixture('data.json'), 'data.txt').mime).toBe('application/json');
    expect(detectType(documentFixture('report.pdf')).kind).toBe('pdf');
  });

  it('uses the name only to tell text subtypes apart', () => {
    const markdown = documentFixture('notes.md');
    expect(detectType(markdown, 'notes.md').mime).toBe('text/markdown');
    expect(detectType(markdown, 'NOTES.MARKDOWN').mime).toBe('text/markdown');
    expect(detectType(markdown, 'notes.txt').mime).toBe('text/plain');
    expect(detectType(markdown).mime).toBe('text/plain');
    expect(detectType(documentFixture('data.csv'), 'export').mime).toBe('text/csv'); // by its consistent rows
    expect(detectType(Buffer.from('Dear Ana,\nthanks, truly.\nBest, Bo\n'), 'letter').mime).toBe('text/plain');
    expect(detectType(Buffer.from('{"half": '), 'broken.json').mime).toBe('text/plain');
    expect(detectType(Buffer.from('"just a string"'), 'value.json').mime).toBe('text/plain');
  });

  it('accepts a UTF-8 BOM and whitespace before a PDF header, but not other bytes', () => {
    const pdf = documentFixture('report.pdf');
    expect(detectType(Buffer.concat([Buffer.from('\ufeff\r\n  '), pdf])).kind).toBe('pdf');
    expect(rejection(() => detectType(Buffer.concat([Buffer.from([0x4d, 0x5a, 0x90, 0x00]), pdf]))).kind).toBe('unsupported_media');
  });

  it.each([
    ['program.pdf', 'an ELF executable renamed .pdf', /Executable/],
    ['notepad.exe', 'a Windows executable', /Executable/],
    ['archive.zip', 'a ZIP that is not a DOCX', /ZIP archives/],
    ['report.odt', 'an OpenDocument file', /OpenDocument/],
    ['legacy.doc', 'a Word 97 file', /Legacy Office/],
    ['picture.bmp', 'a BMP image', /image format/],
  ])('refuses %s (%s) with 415', (name, _what, message) => {
    const err = rejection(() => detectType(documentFixture(name), name));
    expect(err.kind).toBe('unsupported_media');
    expect(err.code).toBe('unsupported_file_type');
    expect(err.message).toMatch(message);
  });

  it('says a password-protected Office document is one, rather than calling it legacy', () => {
    // Office wraps an encrypted DOCX in an OLE2 file with an "EncryptedPackage" stream. No tool here
    // writes one, so this is a real OLE2 file (legacy.doc) given that stream's directory name.
    const encrypted = Buffer.concat([documentFixture('legacy.doc'), Buffer.from('EncryptedPackage', 'utf16le')]);
    const err = rejection(() => detectType(encrypted, 'secret.docx'));
    expect(err).toMatchObject({ kind: 'unprocessable', code: 'encrypted_file' });
  });

  it('refuses binary junk, even without NUL bytes', () => {
    expect(rejection(() => detectType(randomBytes(4096), 'notes.txt')).kind).toBe('unsupported_media');
    const noNul = Buffer.from(randomBytes(4096).map((b) => b || 1));
    expect(rejection(() => detectType(noNul, 'notes.txt')).kind).toBe('unsupported_media');
  });

  it('refuses UTF-16 text, asking for UTF-8', () => {
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('hello', 'utf16le')]);
    expect(rejection(() => detectType(utf16, 'hello.txt')).message).toMatch(/UTF-8/);
  });

  it('does not mistake text that starts like a signature for a binary', () => {
    expect(detectType(Buffer.from('MZ Wallace makes bags.\n')).kind).toBe('text');
    expect(detectType(Buffer.from('BM is a set of initials.\n')).kind).toBe('text');
  });

  it('answers 400 for an empty file', () => {
    const err = rejection(() => detectType(documentFixture('empty.txt'), 'empty.txt'));
    expect(err.kind).toBe('invalid');
    expect(err.code).toBe('empty_file');
    expect(err.message).toBe('The file is empty.');
  });
});
