import type { Tx } from '../../persistence/transaction-runner.js';
import type { UsageEntry } from './usage-entry.js';

/**
 * Where usage records are kept. An injectable token: UsageRepository writes them to the
 * database; the recorder batches and retries in front of it.
 */
export abstract class UsageStore {
  /** Writes the records (each with its id and time) in one statement. */
  abstract insertMany(entries: UsageEntry[]): Promise<void>;

  /** Points a record written before its conversation existed at the conversation, in the caller's transaction. */
  abstract linkConversation(tx: Tx, id: string, conversationId: string): Promise<void>;
}
