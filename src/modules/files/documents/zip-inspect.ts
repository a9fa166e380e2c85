import { DomainError } from '../../../common/errors/domain-error.js';

/** One member of a ZIP archive, as its central directory and its local header both declare it. Nothing is inflated. */
export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflate; anything else is refused here. */
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Where the entry's local header starts. */
  localHeaderOffset: number;
  /** Where its compressed bytes start: after the local header's name and extra field, as JSZip finds them. */
  dataOffset: number;
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

/**
 * The archive's structure cannot be read (`ambiguous: false`), or can be read in more than one
 * way (`ambiguous: true`): two end records, headers that disagree, bytes no entry accounts for.
 * Callers decide what each means for their format.
 */
export class ZipFormatError extends Error {
  override readonly name = 'ZipFormatError';
  readonly ambiguous: boolean;

  constructor(message: string, options: { ambiguous?: boolean } = {}) {
    super(message);
    this.ambiguous = options.ambiguous ?? false;
  }
}

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_DIRECTORY = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_END = 0x06064b50;
const DATA_DESCRIPTOR = 0x08074b50;
const EOCD_SIZE = 22;
const ZIP64_END_SIZE = 56;
const ZIP64_LOCATOR_SIZE = 20;
const MAX_COMMENT = 0xffff;
const FLAG_ENCRYPTED = 0x0001;
const FLAG_DATA_DESCRIPTOR = 0x0008;
const EXTRA_ZIP64 = 0x0001;
const EXTRA_UNICODE_PATH = 0x7075;

/** True when the bytes open like a ZIP archive (a local header, or the end record of an empty one). */
export function looksLikeZip(buf: Buffer): boolean {
  if (buf.length < 4) return false;
  const sig = buf.readUInt32LE(0);
  return sig === LOCAL_HEADER || sig === END_OF_DIRECTORY;
}

/**
 * Lists a ZIP's members, and proves that JSZip (which mammoth uses) would list the same ones
 * from the same bytes. JSZip takes the last end-record signature in the file without checking
 * it, trusts the central directory for sizes and the local header for names, reads past the
 * declared entry count, and treats a gap before the end record as bytes prepended to the archive
 * (shifting every offset). So this reader accepts exactly one layout, the one every writer of
 * DOCX files produces: local records back to back from byte 0, then the central directory, then
 * the end records, each header agreeing with its counterpart. Anything else is refused rather
 * than interpreted. Only headers are read, so a bomb costs nothing here.
 *
 * ZIP64 sizes are honoured rather than refused: a liar gains nothing, since the sizes they
 * declare are exactly what the guards below measure.
 * Throws ZipFormatError when the structure cannot be read or could be read two ways, and a
 * 422 DomainError for an archive with more than `maxEntries` members.
 */
export function readZipDirectory(buf: Buffer, maxEntries = DEFAULT_MAX_ENTRIES): ZipDirectory {
  const eocd = findEndOfDirectory(buf);
  let disk = buf.readUInt16LE(eocd + 4);
  let directoryDisk = buf.readUInt16LE(eocd + 6);
  let entriesOnDisk = buf.readUInt16LE(eocd + 8);
  let entryCount = buf.readUInt16LE(eocd + 10);
  let directorySize = buf.readUInt32LE(eocd + 12);
  let directoryOffset = buf.readUInt32LE(eocd + 16);
  // Where the central directory has to end: at the record that follows it.
  let directoryEnd = eocd;
  let zip64 = false;

  // JSZip's test, field for field: any saturated field sends it to the ZIP64 records.
  if ([disk, directoryDisk, entriesOnDisk, entryCount].includes(0xffff) || directorySize === 0xffffffff || directoryOffset === 0xffffffff) {
    const locator = eocd - ZIP64_LOCATOR_SIZE;
    if (locator < 0 || buf.readUInt32LE(locator) !== ZIP64_LOCATOR) throw new ZipFormatError('ZIP64 locator missing');
    // JSZip finds the locator as the last such signature anywhere in the file.
    if (buf.lastIndexOf(signature(ZIP64_LOCATOR)) !== locator) throw ambiguous('a second ZIP64 locator');
    if (buf.readUInt32LE(locator + 4) !== 0 || buf.readUInt32LE(locator + 16) > 1) throw new ZipFormatError('multi-disk ZIP');
    const end = safeNumber(buf.readBigUInt64LE(locator + 8));
    if (end + ZIP64_END_SIZE > locator || buf.readUInt32LE(end) !== ZIP64_END) throw new ZipFormatError('ZIP64 end record missing');
    // A longer record carries "extensible data", which JSZip mis-reads; writers of DOCX never add any.
    if (buf.readBigUInt64LE(end + 4) !== BigInt(ZIP64_END_SIZE - 12)) throw new ZipFormatError('ZIP64 end record with extensible data');
    if (end + ZIP64_END_SIZE !== locator) throw ambiguous('bytes between the ZIP64 end record and its locator');
    disk = buf.readUInt32LE(end + 16);
    directoryDisk = buf.readUInt32LE(end + 20);
    entriesOnDisk = safeNumber(buf.readBigUInt64LE(end + 24));
    entryCount = safeNumber(buf.readBigUInt64LE(end + 32));
    directorySize = safeNumber(buf.readBigUInt64LE(end + 40));
    directoryOffset = safeNumber(buf.readBigUInt64LE(end + 48));
    directoryEnd = end;
    zip64 = true;
  }
  if (disk !== 0 || directoryDisk !== 0 || entriesOnDisk !== entryCount) throw new ZipFormatError('multi-disk ZIP');

  // Known before walking the directory, so a million-entry archive is not even listed.
  if (entryCount > maxEntries) throw tooManyEntries('archive', entryCount);
  if (directoryOffset + directorySize > directoryEnd) throw new ZipFormatError('central directory out of bounds');
  // Short of the end record, JSZip would take the difference for a prefix and shift every offset by it.
  if (directoryOffset + directorySize !== directoryEnd) throw ambiguous('bytes between the central directory and the end record');

  const entries: ZipEntry[] = [];
  const spans: Array<{ start: number; end: number }> = [];
  const names = new Set<string>();
  let total = 0;
  let pos = directoryOffset;
  for (let i = 0; i < entryCount; i++) {
    if (pos + 46 > directoryEnd || buf.readUInt32LE(pos) !== CENTRAL_HEADER) throw new ZipFormatError('bad central directory entry');
    const flags = buf.readUInt16LE(pos + 8);
    const method = buf.readUInt16LE(pos + 10);
    const crc32 = buf.readUInt32LE(pos + 16);
    let compressedSize = buf.readUInt32LE(pos + 20);
    let uncompressedSize = buf.readUInt32LE(pos + 24);
    const nameLength = buf.readUInt16LE(pos + 28);
    const extraLength = buf.readUInt16LE(pos + 30);
    const commentLength = buf.readUInt16LE(pos + 32);
    let localHeaderOffset = buf.readUInt32LE(pos + 42);
    const nameEnd = pos + 46 + nameLength;
    const next = nameEnd + extraLength + commentLength;
    if (next > directoryEnd) throw new ZipFormatError('central directory entry out of bounds');
    const nameBytes = buf.subarray(pos + 46, nameEnd);
    // JSZip decodes names as UTF-8 whatever bit 11 says; a DOCX's part names are ASCII anyway.
    const name = nameBytes.toString('utf8');
    const extra = readExtraFields(buf, nameEnd, nameEnd + extraLength);

    if (uncompressedSize === 0xffffffff || compressedSize === 0xffffffff || localHeaderOffset === 0xffffffff) {
      // The ZIP64 extra field holds, in this order, only the values whose 32-bit slot is saturated.
      const read = zip64Reader(buf, extra.get(EXTRA_ZIP64));
      if (uncompressedSize === 0xffffffff) uncompressedSize = read();
      if (compressedSize === 0xffffffff) compressedSize = read();
      if (localHeaderOffset === 0xffffffff) localHeaderOffset = read();
      zip64 = true;
    }
    if (flags & FLAG_ENCRYPTED) throw new ZipFormatError(`${name} is encrypted`);
    if (method !== 0 && method !== 8) throw new ZipFormatError(`${name} uses compression method ${method}`);
    if (method === 0 && compressedSize !== uncompressedSize) throw ambiguous(`${name} is stored with two sizes`);

    // A reader that honours the Info-ZIP Unicode path field would see another name.
    const unicodePath = extra.get(EXTRA_UNICODE_PATH);
    if (unicodePath && unicodePath.end - unicodePath.start >= 5 && buf.toString('utf8', unicodePath.start + 5, unicodePath.end) !== name) {
      throw ambiguous(`${name} carries a second name`);
    }
    // JSZip files a member under its normalised path: "a/../word/document.xml" would replace word/document.xml.
    if (normalisePath(name) !== name) throw ambiguous(`a part name a reader rewrites (${name})`);
    // Office part names are case-insensitive; two spellings of one name are two claims on one part.
    const key = name.toLowerCase();
    if (names.has(key)) throw ambiguous(`two parts named ${name}`);
    names.add(key);

    const entry: ZipEntry = { name, method, flags, crc32, compressedSize, uncompressedSize, localHeaderOffset, dataOffset: 0 };
    const span = checkLocalRecord(buf, entry, nameBytes, directoryOffset);
    entry.dataOffset = span.dataOffset;
    spans.push({ start: localHeaderOffset, end: span.end });
    entries.push(entry);
    total += uncompressedSize;
    pos = next;
  }
  // JSZip reads central headers for as long as they follow one another, whatever the count says.
  if (pos !== directoryEnd) throw ambiguous('a central directory that holds more than it declares');
  assertTiled(spans, directoryOffset);
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
  if (dir.totalUncompressed > limits.maxUnzippedBytes) throw archiveTooLarge(label, limits.maxUnzippedBytes);
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

/** 422 `archive_too_large`: from the declared sizes here, or from the bytes inflated by the extraction worker. */
export function archiveTooLarge(label: string, maxUnzippedBytes: number): DomainError {
  return new DomainError('unprocessable', `The ${label} expands to more than ${formatMb(maxUnzippedBytes)} MB.`, { code: 'archive_too_large' });
}

function tooManyEntries(label: string, count: number): DomainError {
  return new DomainError('unprocessable', `The ${label} holds ${count} parts; no real document has that many.`, {
    code: 'archive_suspicious',
  });
}

function ambiguous(what: string): ZipFormatError {
  return new ZipFormatError(what, { ambiguous: true });
}

function findEndOfDirectory(buf: Buffer): number {
  if (buf.length < EOCD_SIZE) throw new ZipFormatError('too short for a ZIP');
  // The end record sits in the last 22 bytes plus at most a 64 KiB comment. Every signature in
  // that stretch is a candidate for some reader (JSZip takes the last one, unchecked), so there
  // must be exactly one, and its comment must reach the end exactly.
  const stop = Math.max(0, buf.length - EOCD_SIZE - MAX_COMMENT);
  const sig = signature(END_OF_DIRECTORY);
  let found = -1;
  let candidates = 0;
  for (let pos = buf.lastIndexOf(sig, buf.length - 4); pos >= stop; pos = pos > 0 ? buf.lastIndexOf(sig, pos - 1) : -1) {
    candidates++;
    if (pos + EOCD_SIZE <= buf.length && pos + EOCD_SIZE + buf.readUInt16LE(pos + 20) === buf.length) found = pos;
  }
  if (found < 0) throw new ZipFormatError('end of central directory not found');
  if (candidates > 1) throw ambiguous('more than one end-of-central-directory record');
  return found;
}

/** Extra fields by id; a field given twice could be read either way, so it is refused. */
function readExtraFields(buf: Buffer, start: number, end: number): Map<number, { start: number; end: number }> {
  const fields = new Map<number, { start: number; end: number }>();
  let pos = start;
  // Fewer than four trailing bytes are padding, which JSZip skips as well.
  while (pos + 4 <= end) {
    const id = buf.readUInt16LE(pos);
    const size = buf.readUInt16LE(pos + 2);
    if (pos + 4 + size > end) throw new ZipFormatError('extra field runs past its header');
    if (fields.has(id)) throw ambiguous(`extra field 0x${id.toString(16)} given twice`);
    fields.set(id, { start: pos + 4, end: pos + 4 + size });
    pos += 4 + size;
  }
  return fields;
}

function zip64Reader(buf: Buffer, field: { start: number; end: number } | undefined): () => number {
  if (!field) throw new ZipFormatError('ZIP64 extra field missing');
  let at = field.start;
  return () => {
    if (at + 8 > field.end) throw new ZipFormatError('ZIP64 extra field too short');
    const v = safeNumber(buf.readBigUInt64LE(at));
    at += 8;
    return v;
  };
}

/**
 * Checks an entry's local header against its central record and returns where its data starts
 * and where the record ends (after the data descriptor, if any). JSZip takes the name from the
 * local header and the sizes from the central one, so the two must say the same.
 */
function checkLocalRecord(buf: Buffer, entry: ZipEntry, centralName: Buffer, limit: number): { dataOffset: number; end: number } {
  const at = entry.localHeaderOffset;
  if (at + 30 > limit || buf.readUInt32LE(at) !== LOCAL_HEADER) throw new ZipFormatError(`no local header for ${entry.name}`);
  const flags = buf.readUInt16LE(at + 6);
  const method = buf.readUInt16LE(at + 8);
  const crc32 = buf.readUInt32LE(at + 14);
  let compressedSize = buf.readUInt32LE(at + 18);
  let uncompressedSize = buf.readUInt32LE(at + 22);
  const nameLength = buf.readUInt16LE(at + 26);
  const extraLength = buf.readUInt16LE(at + 28);
  const nameEnd = at + 30 + nameLength;
  const dataOffset = nameEnd + extraLength;
  const dataEnd = dataOffset + entry.compressedSize;
  if (dataEnd > limit) throw new ZipFormatError(`${entry.name} runs past the end of its data`);

  const disagree = (what: string): ZipFormatError => ambiguous(`the local and central headers of ${entry.name} disagree on its ${what}`);
  if (!buf.subarray(at + 30, nameEnd).equals(centralName)) throw disagree('name');
  if (method !== entry.method) throw disagree('compression method');
  if ((flags ^ entry.flags) & (FLAG_ENCRYPTED | FLAG_DATA_DESCRIPTOR)) throw disagree('flags');
  if (uncompressedSize === 0xffffffff || compressedSize === 0xffffffff) {
    const read = zip64Reader(buf, readExtraFields(buf, nameEnd, dataOffset).get(EXTRA_ZIP64));
    if (uncompressedSize === 0xffffffff) uncompressedSize = read();
    if (compressedSize === 0xffffffff) compressedSize = read();
  }

  if (!(entry.flags & FLAG_DATA_DESCRIPTOR)) {
    if (crc32 !== entry.crc32 || compressedSize !== entry.compressedSize || uncompressedSize !== entry.uncompressedSize) throw disagree('sizes');
    return { dataOffset, end: dataEnd };
  }
  // Bit 3: the values follow the data in a descriptor; the local header holds zeros (or, from some writers, the values).
  const zeroOr = (local: number, central: number): boolean => local === 0 || local === central;
  if (!zeroOr(crc32, entry.crc32) || !zeroOr(compressedSize, entry.compressedSize) || !zeroOr(uncompressedSize, entry.uncompressedSize)) {
    throw disagree('sizes');
  }
  return { dataOffset, end: dataEnd + descriptorLength(buf, dataEnd, entry, limit) };
}

/** The length of the data descriptor at `at`: with or without its signature, 32- or 64-bit sizes, whichever matches the central record. */
function descriptorLength(buf: Buffer, at: number, entry: ZipEntry, limit: number): number {
  for (const signed of [true, false]) {
    for (const wide of [false, true]) {
      const length = (signed ? 4 : 0) + 4 + (wide ? 16 : 8);
      if (at + length > limit) continue;
      if (signed && buf.readUInt32LE(at) !== DATA_DESCRIPTOR) continue;
      const p = at + (signed ? 4 : 0);
      const size = (offset: number): bigint => (wide ? buf.readBigUInt64LE(offset) : BigInt(buf.readUInt32LE(offset)));
      if (
        buf.readUInt32LE(p) === entry.crc32 &&
        size(p + 4) === BigInt(entry.compressedSize) &&
        size(p + (wide ? 12 : 8)) === BigInt(entry.uncompressedSize)
      ) {
        return length;
      }
    }
  }
  throw ambiguous(`the data descriptor of ${entry.name} disagrees with the central directory`);
}

/**
 * The local records must cover [0, directory) end to end: an overlap lets one stretch of bytes
 * count as two parts (the non-recursive zip bomb), and a gap holds bytes that nobody inspected
 * but some reader might still find.
 */
function assertTiled(spans: Array<{ start: number; end: number }>, directoryOffset: number): void {
  spans.sort((a, b) => a.start - b.start);
  let cursor = 0;
  for (const span of spans) {
    if (span.start < cursor) throw ambiguous('overlapping entries');
    if (span.start > cursor) throw ambiguous('bytes that belong to no entry');
    cursor = span.end;
  }
  if (cursor !== directoryOffset) throw ambiguous('bytes that belong to no entry');
}

/** JSZip's `utils.resolve`: drops "." and empty segments, and lets ".." remove the one before. */
function normalisePath(path: string): string {
  const parts = path.split('/');
  const out: string[] = [];
  parts.forEach((part, i) => {
    if (part === '.' || (part === '' && i !== 0 && i !== parts.length - 1)) return;
    if (part === '..') out.pop();
    else out.push(part);
  });
  return out.join('/');
}

function signature(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}

function safeNumber(v: bigint): number {
  // Offsets and compressed sizes are then checked against the buffer, uncompressed sizes against
  // the limit, so nothing JSZip could misread (it folds 64-bit values into 32 bits) gets through.
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipFormatError('ZIP64 value out of range');
  return Number(v);
}

function formatMb(bytes: number): string {
  const mb = bytes / (1024 * 1024);
  return Number.isInteger(mb) ? String(mb) : mb.toFixed(1);
}
