import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** Newest modification time of the sources the build compiles (specs and generated code aside). */
function newestSource(dir: string): { file: string; mtimeMs: number } {
  let newest = { file: '', mtimeMs: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (path === resolve('src/generated')) continue;
      const inner = newestSource(path);
      if (inner.mtimeMs > newest.mtimeMs) newest = inner;
    } else if (/\.(ts|mjs)$/.test(entry.name) && !/\.(spec|contract)\.ts$/.test(entry.name)) {
      const { mtimeMs } = statSync(path);
      if (mtimeMs > newest.mtimeMs) newest = { file: path, mtimeMs };
    }
  }
  return newest;
}

/**
 * The suites that run the built server or CLI (`node dist/...`) run what `npm ci` built (its
 * `prepare` script): they say so when dist/ is missing or older than the sources, rather than
 * test stale code. They never build themselves, so a running server's dist/ is never replaced.
 */
export function assertBuilt(entry: string): void {
  const path = resolve(entry);
  if (!existsSync(path)) throw new Error(`${entry} is missing: run \`npm run build\` (npm ci does it once)`);
  const source = newestSource(resolve('src'));
  if (source.mtimeMs > statSync(path).mtimeMs) {
    throw new Error(`${entry} is older than ${source.file}: run \`npm run build\``);
  }
}
