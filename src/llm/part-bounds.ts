// The most the non-text parts of a prompt may cost, known before the call: limits and budgets
// are admitted against these, and a figure that is too low is money the ledger never held.

/** Prompt tokens of one image on a model: at low detail, and the most at high or auto detail. */
export interface ImageTokens {
  low: number;
  high: number;
}

/**
 * gpt-4o's figures: 85 at low detail; at high detail 85 + 170 per 512 px tile, at most 8 tiles
 * (an image scaled to 768×2048). Models that bill images differently say so in the catalog.
 */
export const DEFAULT_IMAGE_TOKENS: ImageTokens = { low: 85, high: 1_445 };

export function imagePartTokens(part: { image_url: { detail?: string } }, images: ImageTokens): number {
  return part.image_url?.detail === 'low' ? images.low : images.high;
}

/**
 * Audio is billed by duration: OpenAI's models about 10 tokens a second, Gemini's 32. The bound
 * takes 32. A WAV header gives the duration exactly; for other formats the lowest bitrate in
 * use (8 kbit/s, 1,000 bytes a second) bounds it from the size.
 */
export const AUDIO_TOKENS_PER_SECOND = 32;
const MIN_AUDIO_BYTES_PER_SECOND = 1_000;
const MAX_AUDIO_BYTES_PER_SECOND = 192_000 * 2 * 3;

export function audioTokenBound(part: { input_audio: { data: string; format?: string } }): number {
  const data = part.input_audio?.data ?? '';
  const bytes = base64Bytes(data);
  const seconds = wavSeconds(data) ?? bytes / MIN_AUDIO_BYTES_PER_SECOND;
  return Math.ceil(seconds * AUDIO_TOKENS_PER_SECOND) + 1;
}

/** Decoded size of base64 text, without decoding it. */
export function base64Bytes(b64: string): number {
  const clean = b64.length - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0);
  return Math.floor((clean * 3) / 4);
}

/**
 * Duration of a RIFF/WAVE file from its `fmt ` byte rate and its size, reading only the first
 * few hundred bytes. Null when the data is not a WAV file with a sane byte rate.
 */
function wavSeconds(b64: string): number | null {
  const head = Buffer.from(b64.slice(0, 512), 'base64');
  if (head.length < 44 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE') return null;
  let at = 12;
  while (at + 8 <= head.length) {
    const id = head.toString('latin1', at, at + 4);
    const size = head.readUInt32LE(at + 4);
    if (id === 'fmt ' && at + 24 <= head.length) {
      // From the sample format rather than the header's own byte-rate field, and no faster than
      // studio audio (192 kHz, 2 channels, 24 bits), so a header cannot make hours look like a second.
      const channels = head.readUInt16LE(at + 10);
      const sampleRate = head.readUInt32LE(at + 12);
      const bits = head.readUInt16LE(at + 22);
      const byteRate = Math.min(sampleRate * channels * Math.ceil(bits / 8), MAX_AUDIO_BYTES_PER_SECOND);
      // Below 1,000 bytes a second is not audio anyone sends; treat it as unknown, not as hours.
      if (!(byteRate >= MIN_AUDIO_BYTES_PER_SECOND)) return null;
      return base64Bytes(b64) / byteRate;
    }
    at += 8 + size + (size % 2);
  }
  return null;
}
