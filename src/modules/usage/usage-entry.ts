import type { MeteredCall } from '../../metrics/metrics.service.js';

/**
 * One upstream call, as metered: the fields of a usage record (the token kinds, cost, latency,
 * status and models it shares with the metrics come from MeteredCall).
 */
export interface UsageEntry extends MeteredCall {
  requestId: string | null;
  userId: string;
  apiKeyId: string | null;
  endUser: string | null;
  endpoint: string;
  upstreamModel: string;
  conversationId?: string | null;
  sessionId?: string | null;
  estimated: boolean;
  /** When the call ended; defaults to when the record is written. */
  at?: Date;
  /** The record's id, when the caller needs to know it (a uuidv7 is chosen otherwise). */
  id?: string;
}
