import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { measure, type MeasureContext } from './measure.js';
import type { Figures } from './report.js';
import type { Server } from './servers.js';

/**
 * The measure for text extraction staying off the main thread: /v1/chat/completions
 * latency (1 client) alone, then while another client keeps uploading a 200-page PDF.
 */

export interface Interference {
  alone: Figures;
  duringUploads: Figures;
  uploads: number;
  uploadMs: number[];
}

const ONE_CLIENT = { endpoint: '/v1/chat/completions', stream: false, concurrency: 1, distinctKeys: false } as const;

export async function measureUploadInterference(ctx: MeasureContext, server: Server): Promise<Interference> {
  const pdf = readFileSync(join(process.cwd(), 'test/fixtures/documents/long-200-pages.pdf'));
  const auth = { authorization: `Bearer ${server.oneKey}` };
  const alone = await measure(ctx, server, [], ONE_CLIENT);
  let running = true;
  const uploadMs: number[] = [];
  const uploader = (async () => {
    while (running) {
      const form = new FormData();
      form.append('file', new Blob([pdf]), 'long-200-pages.pdf');
      const t0 = performance.now();
      const res = await fetch(`${server.origin}/files/upload`, { method: 'POST', headers: auth, body: form });
      const body = (await res.json()) as { data?: Array<{ id: string; pages: number }> };
      if (res.status !== 201 || body.data?.[0]?.pages !== 200) throw new Error(`upload failed: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
      uploadMs.push(performance.now() - t0);
      await fetch(`${server.origin}/files/${body.data[0].id}`, { method: 'DELETE', headers: auth });
    }
  })();
  let duringUploads: Figures;
  try {
    duringUploads = await measure(ctx, server, [], ONE_CLIENT);
  } finally {
    running = false;
    await uploader;
  }
  // Counted once the last upload has finished.
  return { alone, duringUploads, uploads: uploadMs.length, uploadMs };
}

export function renderInterference(i: Interference): string {
  const f = (n: number) => n.toFixed(2);
  const up = [...i.uploadMs].sort((a, b) => a - b);
  return [
    `/v1/chat/completions, 1 client: p50 ${f(i.alone.p50)} ms, p99 ${f(i.alone.p99)} ms alone;`,
    `p50 ${f(i.duringUploads.p50)} ms, p99 ${f(i.duringUploads.p99)} ms while ${i.uploads} uploads of a 200-page PDF ran back to back`,
    `(upload + extraction p50 ${f(up[Math.floor(up.length / 2)] ?? NaN)} ms).`,
  ].join(' ');
}
