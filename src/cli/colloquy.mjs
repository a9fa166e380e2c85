#!/usr/bin/env node
// The `colloquy` command that package.json "bin" names. It lives outside dist/ because `nest build`
// recreates dist/ from scratch, dropping the executable bit npm's bin link set on install; this file
// keeps its bit and hands over to the compiled CLI.
import { existsSync } from 'node:fs';

const entry = new URL('../../dist/cli/main.js', import.meta.url);
if (!existsSync(entry)) {
  process.stderr.write('colloquy: the CLI is not built: run `npm run build` in the Colloquy checkout\n');
  process.exit(2);
}
await import(entry.href);
