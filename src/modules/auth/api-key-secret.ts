import { createHash, randomBytes } from 'node:crypto';

const KEY_PREFIX = 'cq_';
/** Generated keys are cq_ + 43 characters; an operator-chosen admin key may be any token. */
const KEY_PATTERN = /^[\x21-\x7e]{16,256}$/;
/** How much of a key lists show: enough to recognise it, far too little to use it. */
const SHOWN_CHARS = 10;

/** A new key: 256 random bits, shown once; only its sha256 is stored. */
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, prefix: key.slice(0, SHOWN_CHARS), hash: hashApiKey(key) };
}

/** Keys carry 256 bits of entropy, so a plain sha256 is as strong as a slow hash here. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

export function looksLikeApiKey(value: string): boolean {
  return KEY_PATTERN.test(value);
}
