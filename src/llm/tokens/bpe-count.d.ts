/** The part of a tiktoken encoder the counter uses. */
export interface OrdinaryEncoder {
  encode_ordinary(text: string): { length: number };
}

export const RUN_CHARS: number;
export const MAX_TOKEN_BYTES: number;
export function countTokens(encoder: OrdinaryEncoder, text: string): number;
