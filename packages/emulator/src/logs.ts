/** The in-memory Cloud Logging store shared by the surfaces that write logs and the one that lists them. */
import type { LogStore, StoredLogEntry } from './context.js';

/** A {@link LogStore} kept in memory (and saved to the data dir by the emulator). Insert ids increase monotonically. */
export class MemoryLogStore implements LogStore {
  private readonly entries: StoredLogEntry[] = [];
  private seq = 0;

  constructor(
    private readonly now: () => number,
    private readonly onChange: () => void = () => {},
  ) {}

  append(entry: Omit<StoredLogEntry, 'insertId' | 'receiveTimestamp'>): StoredLogEntry {
    const stored: StoredLogEntry = {
      ...entry,
      insertId: `e${String(++this.seq).padStart(10, '0')}`,
      receiveTimestamp: new Date(this.now()).toISOString(),
    };
    this.entries.push(stored);
    this.onChange();
    return stored;
  }

  all(): readonly StoredLogEntry[] {
    return this.entries;
  }

  /** Restores saved entries; new entries continue the insert-id sequence. */
  load(entries: readonly StoredLogEntry[]): void {
    this.entries.push(...entries);
    for (const e of entries) {
      const n = Number(/^e(\d+)$/.exec(e.insertId)?.[1] ?? 0);
      if (n > this.seq) this.seq = n;
    }
  }
}
