import { openAsBlob, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, resolve } from 'node:path';
import type { ApiClient } from './api-client.js';
import { ApiError } from './api-error.js';
import type { FileInfo } from './api-types.js';

/** `~/x` and relative paths as the shell would have them. */
export function expandPath(path: string): string {
  const unquoted = path.trim().replace(/^(["'])(.*)\1$/, '$2');
  return resolve(unquoted === '~' || unquoted.startsWith('~/') ? homedir() + unquoted.slice(1) : unquoted);
}

/**
 * Appends local files to a form without reading them into memory. A missing path fails here,
 * before anything is sent. The type is left to the server, which detects it from the bytes.
 */
export async function appendFiles(form: FormData, field: string, paths: string[]): Promise<void> {
  for (const path of paths) {
    const full = expandPath(path);
    const stat = statSync(full);
    if (!stat.isFile()) throw Object.assign(new Error(`${path}: not a file`), { code: 'EISDIR', path });
    form.append(field, await openAsBlob(full), basename(full));
  }
}

/** POST /files/upload: all the files or none. A refusal names the file(s) it was about. */
export async function uploadFiles(client: ApiClient, paths: string[], signal?: AbortSignal): Promise<FileInfo[]> {
  const form = new FormData();
  form.append('purpose', 'user_data');
  await appendFiles(form, 'files', paths);
  try {
    return (await client.postForm<{ data: FileInfo[] }>('/files/upload', form, signal)).data;
  } catch (err) {
    throw err instanceof ApiError && err.kind === 'http' ? err.about(paths.map((p) => basename(p)).join(', ')) : err;
  }
}
