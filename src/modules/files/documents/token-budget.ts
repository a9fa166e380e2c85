export interface TrimmedText {
  text: string;
  /** Tokens of `text` as returned. */
  keptTokens: number;
  /** Tokens of the whole input. */
  totalTokens: number;
  truncated: boolean;
}

/** Counts tokens; may answer later (long slices are counted off the main thread). */
export type CountTokens = (text: string) => number | Promise<number>;

/**
 * A coarser boundary is taken only while it keeps at least this share of the budget; below
 * that a finer one is used, so one long paragraph does not cost most of the allowance.
 */
const MIN_FILL = 0.8;
/** Rounds of proportional re-estimation before falling back to a binary search. */
const ESTIMATE_ROUNDS = 6;

const PARAGRAPH = /\n[ \t]*\n/g;
// After . ! ? … and any closing quote or bracket, when whitespace follows; CJK stops need none.
const SENTENCE = /[.!?…]["'”’)\]]*(?=\s)|[。！？]/g;
const WORD = /\S(?=\s)/g;

/**
 * Keeps the longest start of `text` that fits `maxTokens`, cut after a paragraph, else a
 * sentence, else a word; inside a word only when not even the first word fits (a long run of
 * CJK or base64 has no whitespace), and then between characters, never inside one.
 *
 * `count` is called a handful of times on long strings, not once per paragraph: the total once,
 * then a cut is estimated from the tokens-per-character ratio, corrected with exact counts, and
 * moved boundary by boundary by counting only the slices in between.
 *
 * `totalTokens`, when the caller stored it at upload, saves the one full count, and with it all
 * counting for a document that fits.
 */
export async function trimToTokenBudget(text: string, maxTokens: number, count: CountTokens, knownTotal?: number): Promise<TrimmedText> {
  const totalTokens = knownTotal ?? (await count(text));
  if (totalTokens <= maxTokens) return { text, keptTokens: totalTokens, totalTokens, truncated: false };
  const budget = Math.max(0, Math.floor(maxTokens));
  if (budget === 0) return { text: '', keptTokens: 0, totalTokens, truncated: true };

  const estimate = Math.floor((text.length * budget) / totalTokens);
  const levels = [PARAGRAPH, SENTENCE, WORD];
  let best: Cut | null = null;
  for (const [i, pattern] of levels.entries()) {
    const candidates = boundaries(text, pattern, i === 0 ? 'start' : 'end');
    const cut = await lastFitting(text, candidates, budget, estimate, count);
    if (cut && (!best || cut.tokens > best.tokens)) best = cut;
    if (best && best.tokens >= MIN_FILL * budget) break;
  }
  // Without whitespace there is no word to respect: cut between code points.
  if (!best || best.tokens === 0) best = (await lastFitting(text, codePointBoundaries(text), budget, estimate, count)) ?? { pos: 0, tokens: 0 };

  return { text: text.slice(0, best.pos), keptTokens: best.tokens, totalTokens, truncated: true };
}

/**
 * The part sent to the model for one document: a header naming it, its text, and a visible
 * note when the text was cut, so the model (and the user reading its answer) knows.
 */
export function formatDocumentPart(name: string, pages: number | null, trimmed: TrimmedText): string {
  // The name is the uploader's; keep it from closing the header early or adding lines of its own.
  const safeName =
    name
      .replace(/[\u0000-\u001f\u007f]+/g, ' ')
      .replace(/\[/g, '(')
      .replace(/\]/g, ')')
      .trim() || 'untitled';
  const pageNote = pages == null ? '' : `, ${pages} ${pages === 1 ? 'page' : 'pages'}`;
  const body = trimmed.text === '' && !trimmed.truncated ? '[no text could be extracted]' : trimmed.text;
  let part = `[file: ${safeName}${pageNote}]\n${body}`;
  if (trimmed.truncated) part += `\n[truncated: ${trimmed.keptTokens} of ${trimmed.totalTokens} tokens]`;
  return part;
}

interface Cut {
  /** Characters kept. */
  pos: number;
  /** Exact tokens of text.slice(0, pos). */
  tokens: number;
}

/** Cut positions, ascending: where the pattern starts (a paragraph break) or ends (after a stop or a word). */
function boundaries(text: string, pattern: RegExp, side: 'start' | 'end'): number[] {
  const out: number[] = [];
  pattern.lastIndex = 0;
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    const pos = side === 'start' ? m.index : m.index + m[0].length;
    if (pos > 0 && pos < text.length && pos !== out[out.length - 1]) out.push(pos);
  }
  return out;
}

function codePointBoundaries(text: string): number[] {
  const out: number[] = [];
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff) out.push(i); // never between the halves of a surrogate pair
  }
  return out;
}

/** The last candidate whose prefix fits the budget, with its exact token count; null if none does. */
async function lastFitting(text: string, candidates: number[], budget: number, estimate: number, count: CountTokens): Promise<Cut | null> {
  if (candidates.length === 0) return null;
  const prefix = async (i: number): Promise<number> => count(text.slice(0, candidates[i]));

  // 1. Land on a fitting candidate near the estimate, re-scaling it while the count says it is over.
  let i = lastAtOrBefore(candidates, estimate);
  if (i < 0) i = 0;
  let tokens = await prefix(i);
  for (let round = 0; tokens > budget && round < ESTIMATE_ROUNDS; round++) {
    // 2% under the proportional guess, so density that rises toward the cut still converges.
    const next = lastAtOrBefore(candidates, Math.floor((candidates[i] * budget * 0.98) / tokens));
    if (next < 0) {
      const first = await prefix(0);
      return first <= budget ? { pos: candidates[0], tokens: first } : null;
    }
    i = next === i ? i - 1 : next;
    if (i < 0) return null;
    tokens = await prefix(i);
  }
  if (tokens > budget) {
    // Pathological density: search exactly.
    let lo = 0;
    let hi = i - 1;
    let found: Cut | null = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const t = await prefix(mid);
      if (t <= budget) {
        found = { pos: candidates[mid], tokens: t };
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  // 2. Move forward, counting only the slices added, in doubling strides while they fit.
  let stride = 1;
  while (i + 1 < candidates.length) {
    const j = Math.min(i + stride, candidates.length - 1);
    const added = await count(text.slice(candidates[i], candidates[j]));
    if (tokens + added <= budget) {
      i = j;
      tokens += added;
      stride *= 2;
    } else if (stride > 1) {
      stride = Math.max(1, stride >> 1);
    } else break;
  }

  // 3. Slices do not add up exactly (a join can merge or split a token): confirm, stepping back if over.
  tokens = await prefix(i);
  while (tokens > budget && i > 0) tokens = await prefix(--i);
  return tokens <= budget ? { pos: candidates[i], tokens } : null;
}

/** Index of the last element ≤ value, or -1. */
function lastAtOrBefore(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= value) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
