// Token counting with a tiktoken encoder in time linear in the text, shared by the main thread
// (TokenCounter) and the tokenizer worker. Plain ESM JavaScript with a .d.ts beside it, so that
// the worker can load it by path under jest and from dist/ alike.
//
// tiktoken's byte-pair merge is quadratic in the length of one pre-token, and a run of letters,
// of punctuation or of whitespace is one pre-token however long: 60 KB of "xxxx…" took seconds.
// Runs longer than RUN_CHARS are therefore cut into RUN_CHARS slices, each encoded alone. Text
// without such runs (prose, code, JSON) is encoded whole, so its count is exact; a cut run can
// differ by about a token per slice.

/** The longest run encoded in one piece; a run of this many characters costs well under a millisecond. */
export const RUN_CHARS = 256;
/** The most bytes one o200k_base token stands for: a lower bound on tokens is bytes / this. */
export const MAX_TOKEN_BYTES = 128;

const LONG_RUN = new RegExp(`\\S{${RUN_CHARS + 1},}|\\s{${RUN_CHARS + 1},}`, 'g');

/** Tokens of `text` (special tokens counted as plain text). */
export function countTokens(encoder, text) {
  if (!text) return 0;
  if (text.length <= RUN_CHARS) return encoder.encode_ordinary(text).length;
  LONG_RUN.lastIndex = 0;
  let total = 0;
  let from = 0;
  for (let m = LONG_RUN.exec(text); m; m = LONG_RUN.exec(text)) {
    if (m.index > from) total += encoder.encode_ordinary(text.slice(from, m.index)).length;
    const end = m.index + m[0].length;
    for (let at = m.index; at < end;) {
      let cut = Math.min(end, at + RUN_CHARS);
      // Never between the halves of a surrogate pair.
      if (cut < end && isLowSurrogate(text.charCodeAt(cut))) cut -= 1;
      total += encoder.encode_ordinary(text.slice(at, cut)).length;
      at = cut;
    }
    from = end;
  }
  if (from < text.length) total += encoder.encode_ordinary(text.slice(from)).length;
  return total;
}

function isLowSurrogate(code) {
  return code >= 0xdc00 && code <= 0xdfff;
}
