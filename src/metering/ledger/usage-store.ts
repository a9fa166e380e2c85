import type { UsageEntry } from './usage-entry.js';

/**
 * Where usage records are kept. An injectable token: UsageRepository writes them to the
 * database; the recorder batches and retries in front of it.
 */
export abstract class UsageStore {
  /** Writes the records (each with its id and time) in one statement. */
  abstract insertMany(entries: UsageEntry[]): Promise<void>;
}
