/** Light clean-up that keeps paragraph breaks: the token budget cuts on them later. */
export function normaliseText(text: string): string;
/** A text file's bytes as text: invalid UTF-8 becomes U+FFFD instead of failing; the BOM is dropped. */
export function decodeText(bytes: Uint8Array): string;
