import { crc32, deflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * colloquy/image's picture: a PNG whose colours are derived from the prompt (a diagonal blend
 * between two of them), deterministic and offline. It shows that images flow end to end, and
 * which prompt made which image; it depicts nothing.
 */
export function placeholderPng(prompt: string, width: number, height: number): Buffer {
  const h = crc32(prompt);
  const from = [h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff];
  const to = from.map((c, i) => (c + 96 + ((h >>> (24 + i * 2)) & 0x3f)) & 0xff);
  const row = 1 + width * 3;
  const raw = Buffer.alloc(row * height);
  for (let y = 0; y < height; y++) {
    // Each scanline starts with filter type 0 (none).
    for (let x = 0; x < width; x++) {
      const t = (x + y) / (width + height - 2 || 1);
      const at = y * row + 1 + x * 3;
      for (let c = 0; c < 3; c++) raw[at + c] = Math.round(from[c] + (to[c] - from[c]) * t);
    }
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bits per channel
  header[9] = 2; // truecolour RGB
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
