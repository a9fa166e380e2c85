import { DomainError } from '../../../common/errors/domain-error.js';
import { looksLikeZip, readZipDirectory, ZipFormatError } from './zip-inspect.js';

export type DocumentKind = 'pdf' | 'docx' | 'text' | 'image';

export interface DetectedType {
  mime: string;
  kind: DocumentKind;
  /** The canonical extension of the detected type (no dot), whatever the upload was called. */
  extension: string;
}

const ACCEPTED = 'Upload a PDF, DOCX, plain text, Markdown, CSV, JSON, PNG, JPEG, WebP or GIF file.';

const PDF: DetectedType = { mime: 'application/pdf', kind: 'pdf', extension: 'pdf' };
const DOCX: DetectedType = {
  mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  kind: 'docx',
  extension: 'docx',
};
const PNG: DetectedType = { mime: 'image/png', kind: 'image', extension: 'png' };
const JPEG: DetectedType = { mime: 'image/jpeg', kind: 'image', extension: 'jpg' };
const GIF: DetectedType = { mime: 'image/gif', kind: 'image', extension: 'gif' };
const WEBP: DetectedType = { mime: 'image/webp', kind: 'image', extension: 'webp' };
const PLAIN: DetectedType = { mime: 'text/plain', kind: 'text', extension: 'txt' };
const MARKDOWN: DetectedType = { mime: 'text/markdown', kind: 'text', extension: 'md' };
const CSV: DetectedType = { mime: 'text/csv', kind: 'text', extension: 'csv' };
const JSON_TYPE: DetectedType = { mime: 'application/json', kind: 'text', extension: 'json' };

/** The stream name, UTF-16LE as OLE2 directories store it, of an Office file encrypted with a password. */
const ENCRYPTED_PACKAGE = Buffer.from('EncryptedPackage', 'utf16le');

/** How far a PDF header may sit behind a BOM or whitespace (Acrobat reads it within the first KiB). */
const PDF_HEADER_WINDOW = 1024;
/** Bytes of each sample the text test looks at: the head, and one from the middle and the end. */
const TEXT_SAMPLE = 64 * 1024;
const TAIL_SAMPLE = 16 * 1024;
/** Above this many control characters per character sampled, it is binary, not text. */
const MAX_CONTROL_RATIO = 0.01;
/**
 * JSON is confirmed by parsing up to this size (~25 ms on the event loop); beyond it the shape
 * ({…} or […]) decides, since a parse would stall other requests and the label is all that is at stake.
 */
const JSON_PARSE_LIMIT = 1024 * 1024;

/**
 * Names an upload's type from its bytes. The filename only picks among text subtypes, which the
 * bytes cannot tell apart (Markdown and plain text look alike); the client's declared
 * Content-Type is never consulted, so a renamed executable stays an executable.
 *
 * Pass the whole upload: a DOCX is recognised from its ZIP central directory, at the end.
 * Throws 400 `empty_file` for zero bytes, 415 `unsupported_file_type` for anything not accepted,
 * and 422 `encrypted_file` for a password-protected Office document (which is no longer a ZIP).
 */
export function detectType(content: Buffer, filename?: string): DetectedType {
  if (content.length === 0) throw new DomainError('invalid', 'The file is empty.', { code: 'empty_file', param: 'file' });

  const image = detectImage(content);
  if (image) return image;
  if (isPdf(content)) return PDF;
  if (looksLikeZip(content)) return detectZip(content);

  const refused = describeRefusedBinary(content);
  if (refused) throw unsupported(refused);

  if (looksLikeText(content)) return textSubtype(content, filename);
  throw unsupported(`This file type is not supported. ${ACCEPTED}`);
}

function detectImage(b: Buffer): DetectedType | null {
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return PNG;
  if (startsWith(b, [0xff, 0xd8, 0xff])) return JPEG;
  if (b.length >= 6 && (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a')) return GIF;
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP') return WEBP;
  return null;
}

/**
 * `%PDF-` at the start, after at most a UTF-8 BOM and whitespace. Arbitrary leading bytes, which
 * Acrobat tolerates, are not: they are how PDF polyglots (an executable that is also a "PDF") pass.
 */
function isPdf(b: Buffer): boolean {
  let i = startsWith(b, [0xef, 0xbb, 0xbf]) ? 3 : 0;
  while (i < PDF_HEADER_WINDOW && i < b.length && isPdfWhitespace(b[i])) i++;
  return b.length >= i + 5 && ascii(b, i, i + 5) === '%PDF-';
}

function isPdfWhitespace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d || byte === 0x0c;
}

function detectZip(content: Buffer): DetectedType {
  let listed: string[];
  try {
    listed = readZipDirectory(content).entries.map((e) => e.name);
  } catch (err) {
    if (!(err instanceof ZipFormatError)) throw err;
    // A damaged DOCX is still a DOCX: its local headers name its parts. Calling it one lets
    // extraction answer "damaged" (422) instead of "not supported" (415).
    listed = localHeaderNames(content);
  }
  // Part names in an Office package are case-insensitive.
  const names = new Set(listed.map((n) => n.toLowerCase()));
  const has = (name: string): boolean => names.has(name);

  if (has('[content_types].xml') && [...names].some((n) => /^word\/document\d*\.xml$/.test(n))) {
    if (has('word/vbaprojectdata.xml') || has('word/vbaproject.bin')) {
      throw unsupported('Macro-enabled Word documents (.docm) are not accepted; save it as .docx and upload it again.');
    }
    return DOCX;
  }
  if (has('xl/workbook.xml') || has('xl/workbook.bin')) throw unsupported(`Spreadsheets (XLSX) are not supported. ${ACCEPTED}`);
  if (has('ppt/presentation.xml')) throw unsupported(`Presentations (PPTX) are not supported. ${ACCEPTED}`);
  if (has('mimetype') && has('content.xml')) throw unsupported(`OpenDocument files are not supported; save it as DOCX or PDF.`);
  throw unsupported(`ZIP archives are not supported. ${ACCEPTED}`);
}

/** Part names from local headers, read front to back; enough to recognise a DOCX whose directory is gone. */
function localHeaderNames(b: Buffer): string[] {
  const names: string[] = [];
  let pos = b.indexOf('PK\x03\x04', 0, 'latin1');
  while (pos >= 0 && pos + 30 <= b.length && names.length < 1000) {
    const nameLength = b.readUInt16LE(pos + 26);
    if (pos + 30 + nameLength <= b.length) names.push(b.toString('latin1', pos + 30, pos + 30 + nameLength));
    pos = b.indexOf('PK\x03\x04', pos + 4, 'latin1');
  }
  return names;
}

/** Formats refused by name, so the message can say what was sent rather than "unsupported". */
function describeRefusedBinary(b: Buffer): string | null {
  // MZ (Windows PE, DOS): "MZ" can also start a sentence, but an executable's header holds NULs.
  if (startsWith(b, [0x4d, 0x5a]) && b.subarray(0, 64).includes(0)) return 'Executable files are not accepted.';
  if (startsWith(b, [0x7f, 0x45, 0x4c, 0x46])) return 'Executable files are not accepted.'; // ELF
  if (b.length >= 4) {
    const magic = b.readUInt32BE(0);
    // Mach-O 32/64-bit in both byte orders, and universal binaries (which share CAFEBABE with Java classes).
    if ([0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe, 0xcafebabe].includes(magic)) return 'Executable files are not accepted.';
  }
  if (startsWith(b, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) {
    // Office saves a password-protected DOCX (or XLSX…) as an OLE2 file holding the encrypted package.
    if (b.includes(ENCRYPTED_PACKAGE)) {
      throw new DomainError('unprocessable', 'The document is password-protected; remove the password and upload it again.', {
        code: 'encrypted_file',
        param: 'file',
      });
    }
    return 'Legacy Office files (.doc, .xls, .ppt) are not supported; save it as DOCX or PDF and upload it again.';
  }
  if (startsWith(b, [0xff, 0xfe]) || startsWith(b, [0xfe, 0xff])) {
    return 'UTF-16 text is not supported; save the file as UTF-8 and upload it again.';
  }
  if (isOtherImage(b)) return `This image format is not supported; use PNG, JPEG, WebP or GIF.`;
  return null;
}

function isOtherImage(b: Buffer): boolean {
  // BMP: "BM" alone starts ordinary words, so also require the header's reserved zeros.
  if (b.length >= 14 && ascii(b, 0, 2) === 'BM' && b.readUInt32LE(6) === 0) return true;
  if (startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a])) return true; // TIFF
  if (startsWith(b, [0x00, 0x00, 0x01, 0x00])) return true; // ICO
  if (b.length >= 12 && ascii(b, 4, 8) === 'ftyp' && /^(heic|heix|hevc|mif1|msf1|avif|avis)$/.test(ascii(b, 8, 12))) return true;
  if (b.length >= 4 && ascii(b, 0, 4) === '8BPS') return true; // Photoshop
  return false;
}

/**
 * Text is what has no NUL byte and almost no control characters. Invalid UTF-8 is tolerated
 * (it is decoded with replacement characters), so Latin-1 files pass; binary formats do not,
 * since about one byte in nine of compressed or machine data is a control character.
 */
function looksLikeText(b: Buffer): boolean {
  if (b.indexOf(0) >= 0) return false;
  const samples = [b.subarray(0, TEXT_SAMPLE)];
  if (b.length > TEXT_SAMPLE) {
    const mid = Math.floor(b.length / 2);
    samples.push(b.subarray(mid, mid + TAIL_SAMPLE), b.subarray(Math.max(TEXT_SAMPLE, b.length - TAIL_SAMPLE)));
  }
  let chars = 0;
  let controls = 0;
  for (const sample of samples) {
    const text = new TextDecoder('utf-8', { fatal: false }).decode(sample);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      chars++;
      // Tab, LF, FF, CR and ESC (colour codes in logs) are at home in text; other C0/C1 controls are not.
      if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0c && c !== 0x0d && c !== 0x1b) || (c >= 0x7f && c <= 0x9f)) {
        controls++;
      }
    }
  }
  return chars > 0 && controls <= Math.max(0, chars * MAX_CONTROL_RATIO);
}

function textSubtype(content: Buffer, filename: string | undefined): DetectedType {
  if (isJson(content)) return JSON_TYPE;
  const ext = extensionOf(filename);
  if (ext === 'md' || ext === 'markdown') return MARKDOWN;
  if (ext === 'csv' || looksLikeCsv(content)) return CSV;
  return PLAIN;
}

function isJson(content: Buffer): boolean {
  const first = firstNonSpace(content);
  const last = lastNonSpace(content);
  const shaped = (first === 0x7b && last === 0x7d) || (first === 0x5b && last === 0x5d); // {…} or […]
  if (!shaped) return false;
  if (content.length > JSON_PARSE_LIMIT) return true;
  try {
    JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(content));
    return true;
  } catch {
    return false;
  }
}

/**
 * Rows with the same number of commas outside quotes: three rows of three columns or more, or
 * five of two (prose often has one comma a line; it rarely keeps it up for five lines).
 */
function looksLikeCsv(content: Buffer): boolean {
  const head = new TextDecoder('utf-8', { fatal: false }).decode(content.subarray(0, TEXT_SAMPLE));
  const lines = head.split(/\r?\n/).filter((l) => l.trim() !== '');
  // The last sampled line may be cut short by the sample; ignore it unless the file ended there.
  if (content.length > TEXT_SAMPLE) lines.pop();
  const rows = lines.slice(0, 20);
  const counts = rows.map(countSeparators);
  if (!counts.every((n) => n === counts[0])) return false;
  const separators = counts[0] ?? 0;
  return (separators >= 2 && rows.length >= 3) || (separators === 1 && rows.length >= 5);
}

function countSeparators(line: string): number {
  let n = 0;
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (ch === ',' && !quoted) n++;
  }
  return n;
}

function extensionOf(filename: string | undefined): string {
  if (!filename) return '';
  const base = filename.split(/[\\/]/).pop() ?? '';
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}

function firstNonSpace(b: Buffer): number | undefined {
  let i = startsWith(b, [0xef, 0xbb, 0xbf]) ? 3 : 0;
  while (i < b.length && isJsonSpace(b[i])) i++;
  return b[i];
}

function lastNonSpace(b: Buffer): number | undefined {
  let i = b.length - 1;
  while (i >= 0 && isJsonSpace(b[i])) i--;
  return b[i];
}

function isJsonSpace(byte: number): boolean {
  return byte === 0x20 || byte === 0x09 || byte === 0x0a || byte === 0x0d;
}

function startsWith(b: Buffer, bytes: readonly number[]): boolean {
  if (b.length < bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (b[i] !== bytes[i]) return false;
  return true;
}

function ascii(b: Buffer, start: number, end: number): string {
  return b.toString('latin1', start, end);
}

function unsupported(message: string): DomainError {
  return new DomainError('unsupported_media', message, { code: 'unsupported_file_type', param: 'file' });
}
