import {
  centralDirectory,
  centralHeader,
  docxMembers,
  docxPackageMembers,
  documentXml,
  endRecord,
  layOut,
  localRecord,
  member,
} from './zip-writer.js';

/**
 * DOCX files built so that a reader that trusts one structure (the last end record, the local
 * header, every contiguous central header) sees other contents than a guard that trusts another.
 * Each is a real attack on the pair "zip-bomb guard, then mammoth/JSZip", except where noted.
 */
export const VISIBLE = 'What the guard was shown.';
export const HIDDEN = 'What the extractor would have read.';

/**
 * Two end records: the first is the valid one (its comment reaches the end of the file); the
 * second sits inside that comment, is the last signature in the file, and so is the one JSZip
 * reads. It lists a hidden word/document.xml placed between the visible parts and their
 * directory, where only JSZip looks.
 */
export function twoEndRecords(hiddenParagraphs: string[] = [HIDDEN]): Buffer {
  const visible = docxMembers([VISIBLE]);
  const hidden = member('word/document.xml', documentXml(hiddenParagraphs));
  const { bytes: locals, offsets } = layOut(visible);
  const hiddenLocal = localRecord(hidden);
  const hiddenAt = locals.length;
  const directoryAt = hiddenAt + hiddenLocal.length;
  const directory = centralDirectory(visible, offsets);
  const endAt = directoryAt + directory.length;

  const hiddenMembers = [visible[0], visible[1], hidden];
  const hiddenDirectory = centralDirectory(hiddenMembers, [offsets[0], offsets[1], hiddenAt]);
  const commentAt = endAt + 22;
  // Two trailing bytes keep the hidden record from looking valid to a reader that checks the comment length.
  const comment = Buffer.concat([hiddenDirectory, endRecord({ entries: 3, size: hiddenDirectory.length, offset: commentAt }), Buffer.from('\0\0')]);
  return Buffer.concat([locals, hiddenLocal, directory, endRecord({ entries: 3, size: directory.length, offset: directoryAt, comment })]);
}

/**
 * A fourth member the central directory calls word/media/image1.png, whose local header names it
 * word/document.xml: JSZip takes names from local headers, so it replaces the visible document.
 */
export function localNameDisagrees(): Buffer {
  const visible = docxMembers([VISIBLE]);
  const hidden = member('word/document.xml', documentXml([HIDDEN]));
  const { bytes: locals, offsets } = layOut([...visible, hidden]);
  const directory = Buffer.concat([centralDirectory(visible, offsets), centralHeader(hidden, offsets[3], { name: 'word/media/image1.png' })]);
  return Buffer.concat([locals, directory, endRecord({ entries: 4, size: directory.length, offset: locals.length })]);
}

/** The document's local header declares other sizes than its central record (a streaming reader would believe them). */
export function localSizesDisagree(): Buffer {
  const members = docxMembers([VISIBLE]);
  const doc = members[2];
  const first = layOut(members.slice(0, 2));
  const docAt = first.bytes.length;
  const docLocal = localRecord(doc, { uncompressedSize: doc.uncompressedSize * 1000 });
  const directory = centralDirectory(members, [...first.offsets, docAt]);
  const directoryAt = docAt + docLocal.length;
  return Buffer.concat([first.bytes, docLocal, directory, endRecord({ entries: 3, size: directory.length, offset: directoryAt })]);
}

/** Sixteen bytes between the central directory and the end record: JSZip takes them for a prefix and shifts every offset by 16. */
export function directoryNotContiguous(): Buffer {
  const members = docxMembers([VISIBLE]);
  const { bytes: locals, offsets } = layOut(members);
  const directory = centralDirectory(members, offsets);
  return Buffer.concat([locals, directory, Buffer.alloc(16, 0x20), endRecord({ entries: 3, size: directory.length, offset: locals.length })]);
}

/**
 * The only word/document.xml lies inside the stored bytes of another member, so the two share
 * bytes: the overlap behind non-recursive zip bombs, where one stretch counts as many parts.
 */
export function overlappingEntries(): Buffer {
  const pkg = docxPackageMembers();
  const doc = member('word/document.xml', documentXml([HIDDEN]));
  const docRecord = localRecord(doc);
  const carrier = member('word/media/image1.bin', docRecord, { method: 0 });
  const { bytes: locals, offsets } = layOut([...pkg, carrier]);
  const docAt = offsets[2] + 30 + Buffer.byteLength(carrier.name);
  const directory = Buffer.concat([centralDirectory([...pkg, carrier], offsets), centralHeader(doc, docAt)]);
  return Buffer.concat([locals, directory, endRecord({ entries: 4, size: directory.length, offset: locals.length })]);
}

/** Two parts named word/document.xml: JSZip keeps the last. */
export function duplicateNames(): Buffer {
  const members = [...docxMembers([VISIBLE]), member('word/document.xml', documentXml([HIDDEN]))];
  const { bytes: locals, offsets } = layOut(members);
  const directory = centralDirectory(members, offsets);
  return Buffer.concat([locals, directory, endRecord({ entries: 4, size: directory.length, offset: locals.length })]);
}

/**
 * A central directory with one header more than its end record counts (its size includes it):
 * a guard that stops at the count never sees the fourth, JSZip reads on and lets it replace the document.
 */
export function moreHeadersThanCounted(): Buffer {
  const members = [...docxMembers([VISIBLE]), member('word/document.xml', documentXml([HIDDEN]))];
  const { bytes: locals, offsets } = layOut(members);
  const directory = centralDirectory(members, offsets);
  return Buffer.concat([locals, directory, endRecord({ entries: 3, size: directory.length, offset: locals.length })]);
}

/** Bytes between two local records that no entry accounts for. Harmless to JSZip, but nobody inspected them. */
export function unaccountedBytes(): Buffer {
  const members = docxMembers([VISIBLE]);
  const first = layOut(members.slice(0, 2));
  const gap = Buffer.alloc(64, 0x41);
  const docAt = first.bytes.length + gap.length;
  const docLocal = localRecord(members[2]);
  const directory = centralDirectory(members, [...first.offsets, docAt]);
  return Buffer.concat([first.bytes, gap, docLocal, directory, endRecord({ entries: 3, size: directory.length, offset: docAt + docLocal.length })]);
}

/** Bit 3 set, and the data descriptor after the document disagrees with the central directory on its size. */
export function descriptorDisagrees(): Buffer {
  const members = docxMembers([VISIBLE], { dataDescriptor: true });
  const doc = members[2];
  const first = layOut(members.slice(0, 2));
  const docAt = first.bytes.length;
  const docLocal = localRecord(doc, { uncompressedSize: doc.uncompressedSize + 1 });
  const directory = centralDirectory(members, [...first.offsets, docAt]);
  return Buffer.concat([first.bytes, docLocal, directory, endRecord({ entries: 3, size: directory.length, offset: docAt + docLocal.length })]);
}

/** Every crafted archive above, by a name for test titles. */
export const CRAFTED = [
  ['two end-of-central-directory records', twoEndRecords],
  ['a local header naming another part than its central record', localNameDisagrees],
  ['local and central headers declaring other sizes', localSizesDisagree],
  ['bytes between the central directory and the end record', directoryNotContiguous],
  ['overlapping entries', overlappingEntries],
  ['two parts with one name', duplicateNames],
  ['more central headers than the end record counts', moreHeadersThanCounted],
  ['bytes that belong to no entry', unaccountedBytes],
  ['a data descriptor disagreeing with the central directory', descriptorDisagrees],
] as const satisfies ReadonlyArray<readonly [string, () => Buffer]>;
