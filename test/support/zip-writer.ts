import { crc32, deflateRawSync } from 'node:zlib';

/**
 * A small ZIP writer for tests that need archives no ordinary tool would write: headers that
 * disagree, two end records, overlapping entries. `zipArchive` writes a well-formed one; the
 * record functions write the pieces, so a test can lay them out however it means to.
 */
export interface ZipMember {
  name: string;
  /** 0 stored, 8 deflate. */
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  uncompressedSize: number;
  /** The bytes as stored: compressed for method 8. */
  data: Buffer;
}

/** Fields a test may falsify in one header while the other keeps the truth. */
export type HeaderOverrides = Partial<Pick<ZipMember, 'name' | 'method' | 'flags' | 'crc32' | 'compressedSize' | 'uncompressedSize'>>;

const DATA_DESCRIPTOR_FLAG = 0x0008;

/** A member holding `content`, deflated unless `method: 0`; with `dataDescriptor`, its sizes follow the data (bit 3). */
export function member(name: string, content: string | Buffer, options: { method?: 0 | 8; dataDescriptor?: boolean } = {}): ZipMember {
  const raw = typeof content === 'string' ? Buffer.from(content) : content;
  const method = options.method ?? 8;
  const data = method === 8 ? deflateRawSync(raw) : raw;
  return {
    name,
    method,
    flags: 0x0800 | (options.dataDescriptor ? DATA_DESCRIPTOR_FLAG : 0),
    crc32: crc32(raw),
    compressedSize: data.length,
    uncompressedSize: raw.length,
    data,
  };
}

/** The local record: header, data, and (with bit 3) a signed data descriptor holding the true values. */
export function localRecord(m: ZipMember, overrides: HeaderOverrides = {}): Buffer {
  const f = { ...m, ...overrides };
  const name = Buffer.from(f.name);
  const deferred = (f.flags & DATA_DESCRIPTOR_FLAG) !== 0;
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(20, 4);
  header.writeUInt16LE(f.flags, 6);
  header.writeUInt16LE(f.method, 8);
  header.writeUInt16LE(0, 10);
  header.writeUInt16LE(0x21, 12); // 1980-01-01
  header.writeUInt32LE(deferred ? 0 : f.crc32, 14);
  header.writeUInt32LE(deferred ? 0 : f.compressedSize, 18);
  header.writeUInt32LE(deferred ? 0 : f.uncompressedSize, 22);
  header.writeUInt16LE(name.length, 26);
  header.writeUInt16LE(0, 28);
  const parts = [header, name, m.data];
  if (deferred) {
    const descriptor = Buffer.alloc(16);
    descriptor.writeUInt32LE(0x08074b50, 0);
    descriptor.writeUInt32LE(f.crc32, 4);
    descriptor.writeUInt32LE(f.compressedSize, 8);
    descriptor.writeUInt32LE(f.uncompressedSize, 12);
    parts.push(descriptor);
  }
  return Buffer.concat(parts);
}

/** A central directory record; `extra` is its extra field, verbatim. */
export function centralHeader(m: ZipMember, localHeaderOffset: number, overrides: HeaderOverrides = {}, extra: Buffer = Buffer.alloc(0)): Buffer {
  const f = { ...m, ...overrides };
  const name = Buffer.from(f.name);
  const header = Buffer.alloc(46);
  header.writeUInt32LE(0x02014b50, 0);
  header.writeUInt16LE(20, 4);
  header.writeUInt16LE(20, 6);
  header.writeUInt16LE(f.flags, 8);
  header.writeUInt16LE(f.method, 10);
  header.writeUInt16LE(0, 12);
  header.writeUInt16LE(0x21, 14);
  header.writeUInt32LE(f.crc32, 16);
  header.writeUInt32LE(f.compressedSize, 20);
  header.writeUInt32LE(f.uncompressedSize, 24);
  header.writeUInt16LE(name.length, 28);
  header.writeUInt16LE(extra.length, 30);
  header.writeUInt32LE(localHeaderOffset, 42);
  return Buffer.concat([header, name, extra]);
}

/** The end-of-central-directory record; `commentLength` may claim other than the comment's length. */
export function endRecord(fields: { entries: number; size: number; offset: number; comment?: Buffer; commentLength?: number }): Buffer {
  const comment = fields.comment ?? Buffer.alloc(0);
  const record = Buffer.alloc(22);
  record.writeUInt32LE(0x06054b50, 0);
  record.writeUInt16LE(fields.entries, 8);
  record.writeUInt16LE(fields.entries, 10);
  record.writeUInt32LE(fields.size, 12);
  record.writeUInt32LE(fields.offset, 16);
  record.writeUInt16LE(fields.commentLength ?? comment.length, 20);
  return Buffer.concat([record, comment]);
}

/** Local records back to back from `start`, with where each one begins. */
export function layOut(members: ZipMember[], start = 0): { bytes: Buffer; offsets: number[] } {
  const offsets: number[] = [];
  const records: Buffer[] = [];
  let at = start;
  for (const m of members) {
    const record = localRecord(m);
    offsets.push(at);
    records.push(record);
    at += record.length;
  }
  return { bytes: Buffer.concat(records), offsets };
}

/** A central directory for `members` whose local headers sit at `offsets`. */
export function centralDirectory(members: ZipMember[], offsets: number[]): Buffer {
  return Buffer.concat(members.map((m, i) => centralHeader(m, offsets[i])));
}

/** A well-formed archive: local records from byte 0, the central directory, the end record. */
export function zipArchive(members: ZipMember[]): Buffer {
  const { bytes, offsets } = layOut(members);
  const directory = centralDirectory(members, offsets);
  return Buffer.concat([bytes, directory, endRecord({ entries: members.length, size: directory.length, offset: bytes.length })]);
}

/** word/document.xml with one paragraph per string. */
export function documentXml(paragraphs: string[]): string {
  const body = paragraphs.map((p) => `<w:p><w:r><w:t>${p}</w:t></w:r></w:p>`).join('');
  return (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
    `<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${body}</w:body></w:document>`
  );
}

/** The package parts every DOCX needs besides its document: [Content_Types].xml and _rels/.rels. */
export function docxPackageMembers(options: { dataDescriptor?: boolean } = {}): ZipMember[] {
  const types =
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">' +
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
    '<Default Extension="xml" ContentType="application/xml"/>' +
    '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>' +
    '</Types>';
  const rels =
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' +
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">' +
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>' +
    '</Relationships>';
  return [member('[Content_Types].xml', types, options), member('_rels/.rels', rels, options)];
}

/** The members of a minimal DOCX whose body is `paragraphs`. */
export function docxMembers(paragraphs: string[], options: { dataDescriptor?: boolean } = {}): ZipMember[] {
  return [...docxPackageMembers(options), member('word/document.xml', documentXml(paragraphs), options)];
}

/** A minimal, well-formed DOCX. */
export function minimalDocx(paragraphs: string[], options: { dataDescriptor?: boolean } = {}): Buffer {
  return zipArchive(docxMembers(paragraphs, options));
}
