import { DomainError } from '../../common/errors/domain-error.js';

/** 413 for a file over MAX_FILE_MB, with the limit as a person would write it (20 MB, 10 KB, 1.5 MB). */
export function fileTooLarge(maxBytes: number, what = 'file', param?: string): DomainError {
  return new DomainError('too_large', `The ${what} is larger than the ${formatSize(maxBytes)} limit.`, { code: 'file_too_large', param });
}

export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Number((bytes / 1024 / 1024).toFixed(1))} MB`;
  if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(1))} KB`;
  return `${bytes} bytes`;
}
