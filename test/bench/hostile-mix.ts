import { connect, type Socket } from 'node:net';
import { request } from 'undici';
import { pdfWithPages } from '../support/pdf-writer.js';
import { percentile } from './load.js';

/**
 * The hardening issue's availability figure: chat latency (one client, /v1/chat/completions)
 * alone, then while other users keep the server busy the ways an attacker with a key would:
 * crafted PDFs (1,900 one-line pages, just under the page limit) uploaded back to back, prompts
 * of 200 KB without a space, and 50 connections sending their bodies one byte at a time. Probes
 * of /health/live run all along, every 20 ms.
 */

export interface HostileMix {
  aloneP50: number;
  aloneP99: number;
  mixP50: number;
  mixP99: number;
  probeP50: number;
  probeP99: number;
  probeMax: number;
  uploads: number;
  bigPrompts: number;
  slowBodies: number;
  slowBodiesTimedOut: number;
}

interface Target {
  origin: string;
  adminKey: string;
  model: string;
}

export async function measureHostileMix(target: Target, seconds: number): Promise<HostileMix> {
  const attacker = await attackerKey(target);
  const alone = await chatLatencies(target, seconds * 1000);

  // BENCH_MIX picks the parts (default all): pdf, prompts, slow.
  const parts = new Set((process.env.BENCH_MIX ?? 'pdf,prompts,slow').split(','));
  let running = true;
  const counts = { uploads: 0, bigPrompts: 0, slowBodies: parts.has('slow') ? 50 : 0, slowBodiesTimedOut: 0 };
  const pdf = pdfWithPages(1_900);
  const uploader = (async () => {
    while (running && parts.has('pdf')) {
      const form = new FormData();
      form.append('file', new Blob([pdf]), 'crafted.pdf');
      const res = await fetch(`${target.origin}/files/upload`, { method: 'POST', headers: { authorization: `Bearer ${attacker}` }, body: form });
      const body = (await res.json()) as { data?: Array<{ id: string }> };
      counts.uploads++;
      const id = body.data?.[0]?.id;
      if (id) await fetch(`${target.origin}/files/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${attacker}` } });
    }
  })();
  const bigPrompt = JSON.stringify({ model: target.model, max_tokens: 5, messages: [{ role: 'user', content: 'x'.repeat(200_000) }] });
  const prompter = (async () => {
    for (let i = 0; running && parts.has('prompts'); i++) {
      // Each prompt differs, so no cache spares the counting.
      const res = await request(`${target.origin}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${attacker}`, 'content-type': 'application/json' },
        body: bigPrompt.replace('"x', `"${i}x`),
      });
      await res.body.text();
      counts.bigPrompts++;
    }
  })();
  const slow = slowBodies(
    target.origin,
    attacker,
    counts.slowBodies,
    () => running,
    () => counts.slowBodiesTimedOut++,
  );
  const probes = probe(target.origin, () => running);

  // Let the mix reach its steady state (the first PDF in a worker, the sockets open) first.
  await new Promise((r) => setTimeout(r, 2_000));
  const mix = await chatLatencies(target, seconds * 1000);
  running = false;
  await Promise.allSettled([uploader, prompter, slow]);
  const probeMs = (await probes).sort();

  const a = alone.sort();
  const m = mix.sort();
  return {
    aloneP50: percentile(a, 50),
    aloneP99: percentile(a, 99),
    mixP50: percentile(m, 50),
    mixP99: percentile(m, 99),
    probeP50: percentile(probeMs, 50),
    probeP99: percentile(probeMs, 99),
    probeMax: probeMs[probeMs.length - 1] ?? NaN,
    ...counts,
  };
}

export function renderHostileMix(h: HostileMix): string {
  const f = (n: number) => n.toFixed(2);
  return [
    `/v1/chat/completions, 1 client: p50 ${f(h.aloneP50)} ms, p99 ${f(h.aloneP99)} ms alone;`,
    `p50 ${f(h.mixP50)} ms, p99 ${f(h.mixP99)} ms (${f(h.mixP50 / h.aloneP50)}× / ${f(h.mixP99 / h.aloneP99)}×) under the hostile mix`,
    `(${h.uploads} crafted 1,900-page PDFs, ${h.bigPrompts} prompts of 200 KB without a space, ${h.slowBodies} slow bodies, ${h.slowBodiesTimedOut} of them cut by the request timeout).`,
    `/health/live meanwhile: p50 ${f(h.probeP50)} ms, p99 ${f(h.probeP99)} ms, max ${f(h.probeMax)} ms.`,
  ].join(' ');
}

async function attackerKey(target: Target): Promise<string> {
  const call = async (path: string, body: object) => {
    const res = await request(`${target.origin}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${target.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return (await res.body.json()) as { id: string; key: string };
  };
  const user = await call('/users', { name: 'bench-attacker' });
  return (await call(`/users/${user.id}/keys`, {})).key;
}

async function chatLatencies(target: Target, ms: number): Promise<Float64Array> {
  const out: number[] = [];
  const deadline = performance.now() + ms;
  for (let i = 0; performance.now() < deadline; i++) {
    const started = performance.now();
    const res = await request(`${target.origin}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${target.adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: target.model, messages: [{ role: 'user', content: `A normal question, number ${i}.` }] }),
    });
    await res.body.text();
    if (res.statusCode !== 200) throw new Error(`a normal chat failed during the hostile mix: ${res.statusCode}`);
    out.push(performance.now() - started);
  }
  return Float64Array.from(out);
}

/** Probes /health/live every 20 ms while `running()`; answers each probe's latency. */
async function probe(origin: string, running: () => boolean): Promise<Float64Array> {
  const out: number[] = [];
  while (running()) {
    const started = performance.now();
    const res = await request(`${origin}/health/live`);
    await res.body.text();
    out.push(performance.now() - started);
    await new Promise((r) => setTimeout(r, 20));
  }
  return Float64Array.from(out);
}

/** `count` connections that send a POST's body one byte a second, reopened when the server cuts them. */
async function slowBodies(origin: string, key: string, count: number, running: () => boolean, onCut: () => void): Promise<void> {
  const { hostname, port } = new URL(origin);
  const one = async (): Promise<void> => {
    while (running()) {
      await new Promise<void>((resolve) => {
        const socket: Socket = connect(Number(port), hostname, () => {
          socket.write(
            `POST /v1/chat/completions HTTP/1.1\r\nhost: ${hostname}\r\nauthorization: Bearer ${key}\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n{`,
          );
        });
        const drip = setInterval(() => (running() ? socket.write(' ') : socket.destroy()), 1_000);
        socket.on('data', () => undefined);
        socket.on('close', () => {
          clearInterval(drip);
          if (running()) onCut();
          resolve();
        });
        socket.on('error', () => undefined);
      });
    }
  };
  await Promise.all(Array.from({ length: count }, one));
}
