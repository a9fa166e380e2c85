#!/usr/bin/env node
// The `colloquy` executable (package.json "bin"): the terminal client for a Colloquy server.
import { createRequire } from 'node:module';
import { runCli } from './cli.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

void runCli(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }, version).then(
  (code) => {
    process.exitCode = code;
  },
);
