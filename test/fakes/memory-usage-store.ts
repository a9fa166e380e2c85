import type { UsageEntry } from '../../src/metering/ledger/usage-entry.js';
import { UsageStore } from '../../src/metering/ledger/usage-store.js';

/** Usage records kept in an array, in the order they were written. */
export class MemoryUsageStore extends UsageStore {
  readonly rows: UsageEntry[] = [];

  override async insertMany(entries: UsageEntry[]): Promise<void> {
    this.rows.push(...entries.map((e) => ({ ...e })));
  }
}
