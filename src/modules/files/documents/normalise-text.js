// Shared by the extraction worker and the main thread (which reads small text files itself), so
// plain ESM JavaScript like the worker: a worker thread loads it as is, without the TypeScript
// toolchain. Its types are in normalise-text.d.ts.

/** Light clean-up that keeps paragraph breaks: the token budget cuts on them later. */
export function normaliseText(text) {
  return (
    text
      .replace(/\r\n?/g, '\n')
      .replace(/\f/g, '\n\n')
      // NUL and other C0 controls: meaningless to a model, and PostgreSQL refuses NUL in text.
      .replace(/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/g, '')
      .replace(/[ \t\u00a0]+$/gm, '')
      .replace(/\n{3,}/g, '\n\n')
      .trim()
      // Lone surrogates (from odd PDF encodings) cannot be stored as UTF-8.
      .toWellFormed()
  );
}

/** A text file's bytes as text: invalid UTF-8 (a Latin-1 "é") becomes U+FFFD instead of failing; the BOM is dropped. */
export function decodeText(bytes) {
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes);
}
