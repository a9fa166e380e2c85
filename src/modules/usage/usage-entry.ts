/** One upstream call, as metered: the fields of a usage record. */
export interface UsageEntry {
  requestId: string | null;
  userId: string;
  apiKeyId: string | null;
  endUser: string | null;
  endpoint: string;
  requestedModel: string;
  upstreamModel: string;
  provider: string;
  conversationId?: string | null;
  sessionId?: string | null;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  costMicros: number;
  latencyMs: number;
  ttftMs: number | null;
  status: 'ok' | 'error' | 'aborted';
  estimated: boolean;
  errorCode: string | null;
  /** When the call ended; defaults to when the record is written. */
  at?: Date;
}
