import 'reflect-metadata';
import { spawn } from 'node:child_process';
const mb = (n) => Math.round(n / 1048576);
const { loadConfig } = await import('./dist/config/config.loader.js');
const { createLogger } = await import('./dist/common/logging/logger.js');
const { createApp } = await import('./dist/app.factory.js');
const config = loadConfig({ rootDir: process.cwd(), env: { DATABASE_URL: 'postgresql://postgres@127.0.0.1:5432/prof', DATA_DIR: '/tmp/prof/data3', CONFIG_FILE: '/tmp/prof/cfg.yaml', COLLOQUY_ADMIN_KEY: 'bench-admin-key-0123456789abcdef', LOG_LEVEL: 'warn', RATE_LIMIT_RPM: '100000000' } });
const app = await createApp(config, createLogger('warn'));
await app.listen(4010, '127.0.0.1');
await new Promise((r) => setTimeout(r, 2000));
const show = (l) => { const m = process.memoryUsage(); console.log(l, 'rss', mb(m.rss), 'heapTotal', mb(m.heapTotal), 'heapUsed', mb(m.heapUsed), 'ext', mb(m.external)); };
for (let round = 0; round < 3; round++) {
  const child = spawn('taskset', ['-c', '1', 'node', '/tmp/prof/load.mjs', 'http://127.0.0.1:4010', '/v1/chat/completions', '64', '6', 'stream'], { stdio: 'inherit' });
  await new Promise((r) => child.on('exit', r));
  show('after load ' + round); global.gc(); await new Promise((r) => setTimeout(r, 500)); global.gc(); show('after gc ' + round);
}
const v8 = await import('node:v8'); v8.writeHeapSnapshot('/tmp/prof/after.heapsnapshot');
await app.close(); process.exit(0);
