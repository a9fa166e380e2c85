import { availableParallelism } from 'node:os';
import { basename, isAbsolute, join } from 'node:path';
import type { AppConfig } from '../../config/app-config.js';
import { GgufHeaderError, readGgufHeader } from './gguf-header.js';

export const LOCAL_PROVIDER = 'local';
/** A local entry without context_size gets its GGUF's trained context, at most this. */
export const DEFAULT_LOCAL_CONTEXT = 8_192;
export const DEFAULT_PARALLEL = 2;

/** One local model as configured, with what its file's header said (read once, at start). */
export interface LocalModelSpec {
  id: string;
  /** Absolute path of the GGUF file. */
  gguf: string;
  contextSize: number;
  threads: number;
  gpuLayers: number | 'auto' | 'max';
  parallel: number;
  maxOutputTokens: number;
  /** Unloaded after this long unused (0: never). */
  idleUnloadMs: number;
  /** Why the file cannot be used, as found at start (missing, unreadable, not GGUF); null when it looked sound. */
  problem: string | null;
}

/** The catalog's local entries, each with its file checked (a bad file makes its model unavailable, never stops the server). */
export function localModelSpecs(config: AppConfig): LocalModelSpec[] {
  const threads = Math.max(1, Math.floor(availableParallelism() / 2));
  return config.models
    .filter((m) => m.provider === LOCAL_PROVIDER)
    .map((m) => {
      const gguf = isAbsolute(m.gguf!) ? m.gguf! : join(config.local.modelsDir, m.gguf!);
      const checked = checkGguf(gguf);
      const contextSize = m.context_size ?? Math.min(checked.trainedContext ?? DEFAULT_LOCAL_CONTEXT, DEFAULT_LOCAL_CONTEXT);
      return {
        id: m.id,
        gguf,
        contextSize,
        threads: m.threads ?? threads,
        gpuLayers: m.gpu_layers ?? 'auto',
        parallel: m.parallel ?? DEFAULT_PARALLEL,
        maxOutputTokens: Math.min(m.max_output_tokens, contextSize),
        idleUnloadMs: m.idle_unload_minutes !== undefined ? Math.round(m.idle_unload_minutes * 60_000) : config.local.idleUnloadMs,
        problem: checked.problem,
      };
    });
}

/** Whether the file is there and starts as a GGUF model, in words fit for /health and a 503. */
export function checkGguf(path: string): { trainedContext: number | null; problem: string | null } {
  // Named by its file name only: the reason reaches clients (and /health), the server's directories do not.
  const file = basename(path);
  try {
    return { trainedContext: readGgufHeader(path).trainedContext, problem: null };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { trainedContext: null, problem: `its GGUF file ${file} does not exist` };
    if (code === 'EACCES' || code === 'EPERM') return { trainedContext: null, problem: `its GGUF file ${file} cannot be read (permission denied)` };
    if (code === 'EISDIR') return { trainedContext: null, problem: `its GGUF path ${file} is a directory, not a file` };
    if (err instanceof GgufHeaderError) return { trainedContext: null, problem: `its GGUF file ${file} is unreadable: ${err.message}` };
    return { trainedContext: null, problem: `its GGUF file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'an I/O error'})` };
  }
}
