// Imported first by worker threads that do background work (text extraction, token counting).
// On Linux the nice value belongs to the thread, so this lowers only the calling worker: when
// the core is contended, request handling on the main thread runs first, and a user's crafted
// PDF or 200 KB prompt slows other users' chats far less. Elsewhere it may fail; that is fine.
import { setPriority } from 'node:os';

const BACKGROUND_NICE = 10;

try {
  setPriority(BACKGROUND_NICE);
} catch {
  // Not permitted or not supported: the worker runs at the process's priority.
}
