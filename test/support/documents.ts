import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where the document fixtures live; see test/fixtures/documents/README.md for how each was made. */
export const DOCUMENT_FIXTURES = fileURLToPath(new URL('../fixtures/documents/', import.meta.url));

/** The bytes of one document fixture. */
export function documentFixture(name: string): Buffer {
  return readFileSync(DOCUMENT_FIXTURES + name);
}
