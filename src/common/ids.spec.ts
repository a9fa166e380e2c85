import { z } from 'zod';
import { uuidv7 } from './ids.js';

describe('uuidv7', () => {
  it('makes valid v7 UUIDs that sort in creation order, even within one millisecond', () => {
    const ids = Array.from({ length: 5000 }, () => uuidv7());
    for (const id of ids) expect(z.uuid({ version: 'v7' }).safeParse(id).success).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('carries its timestamp in the first 48 bits', () => {
    const at = Date.now() + 3_600_000;
    const id = uuidv7(at);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(at);
  });
});
