import { DomainError } from '../../../common/errors/domain-error.js';

/** One member of a ZIP archive as its central directory declares it. Nothing is inflated. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate; anything else is refused before extraction. */
  method: number;
  flags: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Where the entry's local header starts, so a reader can find its data. */
  localHeaderOffset: number;
}

export interface ZipDirectory {
  entries: ZipEntry[];
  /** The sum of the declared uncompressed sizes. */
  totalUncompressed: number;
  zip64: boolean;
}

export interface ArchiveLimits {
  maxUnzippedBytes: number;
  /** Refuse more members than this: each costs the reader an object, and no DOCX has thousands. */
  maxEntries?: number;
  /** Refuse a member over `ratioFloorBytes` that declares more than this many times its compressed size. */
  maxRatio?: number;
  ratioFloorBytes?: number;
}

export const DEFAULT_MAX_ENTRIES = 10_000;
// Deflate tops out near 1,032:1; real documents (XML, images) stay far below 100:1, so 200:1 on a
// member of a megabyte or more only catches padding made to expand.
export const DEFAULT_MAX_RATIO = 200;
export const DEFAULT_RATIO_FLOOR_BYTES = 1024 * 1024;

/** The archive's structure cannot be read. Callers decide what that means for their format. */
export class ZipFormatError extends Error {
  override readonly name = 'ZipFormatError';
}

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_DIRECTORY = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_END = 0x06064b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;

/** True when the bytes open like a ZIP archive (a local header, or the end record of an empty one). */
export function looksLikeZip(buf: Buffer): boolean {
  if (buf.length < 4) return false;
  const sig = buf.readUInt32LE(0);
  return sig === LOCAL_HEADER || sig === END_OF_DIRECTORY;
}

/**
 * Lists a ZIP's members from its central directory, the one place that is authoritative for a
 * reader like JSZip (which mammoth uses). Only headers are read, so a bomb costs nothing here.
 * ZIP64 sizes are honoured rather than refused: a liar gains nothing, since the sizes they
 * declare are exactly what the guards below measure.
 * Throws ZipFormatError when the structure cannot be read, and a 422 DomainError for an archive
 * with more than `maxEntries` members.
 */
export function readZipDirectory(buf: Buffer, maxEntries = DEFAULT_MAX_ENTRIES): ZipDirectory {
  const eocd = findEndOfDirectory(buf);
  let entryCount = buf.readUInt16LE(eocd + 10);
  let directorySize = buf.readUInt32LE(eocd + 12);
  let directoryOffset = buf.readUInt32LE(eocd + 16);
  let zip64 = false;

  if (entryCount === 0xffff || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || buf.readUInt32LE(locator) !== ZIP64_LOCATOR) throw new ZipFormatError('ZIP64 locator missing');
    const end = safeNumber(buf.readBigUInt64LE(locator + 8));
    if (end + 56 > buf.length || buf.readUInt32LE(end) !== ZIP64_END) throw new ZipFormatError('ZIP64 end record missing');
    entryCount = safeNumber(buf.readBigUInt64LE(end + 32));
    directorySize = safeNumber(buf.readBigUInt64LE(end + 40));
    directoryOffset = safeNumber(buf.readBigUInt64LE(end + 48));
    zip64 = true;
  }

  // Known before walking the directory, so a million-entry archive is not even listed.
  if (entryCount > maxEntries) throw tooManyEntries('archive', entryCount);
  if (directoryOffset + directorySize > buf.length) throw new ZipFormatError('central directory out of bounds');

  const entries: ZipEntry[] = [];
  let total = 0;
  let pos = directoryOffset;
  for (let i = 0; i < entryCount; i++) {
    if (pos + 46 > buf.length || buf.readUInt32LE(pos) !== CENTRAL_HEADER) throw new ZipFormatError('bad central directory entry');
    const flags = buf.readUInt16LE(pos + 8);
    const method = buf.readUInt16LE(pos + 10);
    let compressedSize = buf.readUInt32LE(pos + 20);
    let uncompressedSize = buf.readUInt32LE(pos + 24);
    const nameLength = buf.readUInt16LE(pos + 28);
    const extraLength = buf.readUInt16LE(pos + 30);
    const commentLength = buf.readUInt16LE(pos + 32);
    let localHeaderOffset = buf.readUInt32LE(pos + 42);
    const nameEnd = pos + 46 + nameLength;
    const next = nameEnd + extraLength + commentLength;
    if (next > buf.length) throw new ZipFormatError('central directory entry out of bounds');
    // Bit 11 says UTF-8; otherwise CP437, whose ASCII range is all a DOCX's part names use.
    const name = buf.toString(flags & 0x800 ? 'utf8' : 'latin1', pos + 46, nameEnd);

    if (uncompressedSize === 0xffffffff || compressedSize === 0xffffffff || localHeaderOffset === 0xffffffff) {
      // The ZIP64 extra field holds, in this order, only the values whose 32-bit slot is saturated.
      const field = findExtraField(buf, nameEnd, nameEnd + extraLength, 0x0001);
      if (!field) throw new ZipFormatError('ZIP64 extra field missing');
      let at = field.start;
      const read = (): number => {
        if (at + 8 > field.end) throw new ZipFormatError('ZIP64 extra field too short');
        const v = safeNumber(buf.readBigUInt64LE(at));
        at += 8;
        return v;
      };
      if (uncompressedSize === 0xffffffff) uncompressedSize = read();
      if (compressedSize === 0xffffffff) compressedSize = read();
      if (localHeaderOffset === 0xffffffff) localHeaderOffset = read();
      zip64 = true;
    }

    entries.push({ name, method, flags, compressedSize, uncompressedSize, localHeaderOffset });
    total += uncompressedSize;
    pos = next;
  }
  return { entries, totalUncompressed: total, zip64 };
}

/**
 * Refuses an archive that would expand past the limit or is built to, judged from the
 * declared sizes alone. Sizes a liar understates are caught later, while inflating, by the
 * extraction worker, which stops at the declared size.
 */
export function assertArchiveWithinLimits(dir: ZipDirectory, limits: ArchiveLimits, label = 'DOCX'): void {
  const maxEntries = limits.maxEntries ?? DEFAULT_MAX_ENTRIES;
  const maxRatio = limits.maxRatio ?? DEFAULT_MAX_RATIO;
  const ratioFloor = limits.ratioFloorBytes ?? DEFAULT_RATIO_FLOOR_BYTES;

  if (dir.entries.length > maxEntries) throw tooManyEntries(label, dir.entries.length);
  if (dir.totalUncompressed > limits.maxUnzippedBytes) {
    throw new DomainError('unprocessable', `The ${label} expands to more than ${formatMb(limits.maxUnzippedBytes)} MB.`, {
      code: 'archive_too_large',
    });
  }
  for (const entry of dir.entries) {
    if (entry.uncompressedSize >= ratioFloor && entry.uncompressedSize > maxRatio * Math.max(entry.compressedSize, 1)) {
      throw new DomainError(
        'unprocessable',
        `The ${label} looks like a zip bomb: one of its parts expands ${Math.round(entry.uncompressedSize / Math.max(entry.compressedSize, 1))} times.`,
        { code: 'archive_suspicious' },
      );
    }
  }
}

function tooManyEntries(label: string, count: number): DomainError {
  return new DomainError('unprocessable', `The ${label} holds ${count} parts; no real document has that many.`, {
    code: 'archive_suspicious',
  });
}

function findEndOfDirectory(buf: Buffer): number {
  if (buf.length < EOCD_SIZE) throw new ZipFormatError('too short for a ZIP');
  // The end record sits in the last 22 bytes plus at most a 64 KiB comment; scan backwards.
  const stop = Math.max(0, buf.length - EOCD_SIZE - MAX_COMMENT);
  for (let pos = buf.length - EOCD_SIZE; pos >= stop; pos--) {
    if (buf[pos] === 0x50 && buf.readUInt32LE(pos) === END_OF_DIRECTORY) {
      // A signature inside compressed data is possible; the comment length must reach the end exactly.
      if (pos + EOCD_SIZE + buf.readUInt16LE(pos + 20) === buf.length) return pos;
    }
  }
  throw new ZipFormatError('end of central directory not found');
}

function findExtraField(buf: Buffer, start: number, end: number, id: number): { start: number; end: number } | null {
  let pos = start;
  while (pos + 4 <= end) {
    const fieldId = buf.readUInt16LE(pos);
    const size = buf.readUInt16LE(pos + 2);
    if (fieldId === id) return { start: pos + 4, end: Math.min(pos + 4 + size, end) };
    pos += 4 + size;
  }
  return null;
}

function safeNumber(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipFormatError('ZIP64 value out of range');
  return Number(v);
}

function formatMb(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return Number.isInteger(mb) ? String(mb) : mb.toFixed(1);
}
