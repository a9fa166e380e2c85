import { formatBytes, formatDuration, formatUsd, truncate } from './format.js';
import { formatTable } from './table.js';

describe('formatTable', () => {
  it('aligns columns, right-aligns numbers, and leaves no trailing spaces', () => {
    const table = formatTable(
      [{ header: 'MODEL' }, { header: 'REQUESTS', align: 'right' }, { header: 'TITLE' }],
      [
        ['standin-gpt', '12', 'A title'],
        ['colloquy/echo', '3', ''],
      ],
    );
    expect(table).toBe(['MODEL          REQUESTS  TITLE', 'standin-gpt          12  A title', 'colloquy/echo         3', ''].join('\n'));
  });

  it('measures cells by what shows: colours and multi-byte characters take no extra room', () => {
    const table = formatTable(
      [{ header: 'A' }, { header: 'B' }],
      [
        ['\x1b[2mdim\x1b[22m', 'x'],
        ['é…', 'y'],
      ],
    );
    expect(table.split('\n').map((l) => l.replace(/\x1b\[\d+m/g, ''))).toEqual(['A    B', 'dim  x', 'é…   y', '']);
  });
});

describe('figures', () => {
  it('shows small costs with enough decimals to tell them apart', () => {
    expect([0, 0.00001, 0.0035, 0.5, 12.345].map(formatUsd)).toEqual(['$0.00', '<$0.0001', '$0.0035', '$0.5000', '$12.35']);
  });

  it('reads sizes, durations and long titles the way people do', () => {
    expect([512, 23_680, 5 * 1024 * 1024].map(formatBytes)).toEqual(['512 B', '23 KB', '5.0 MB']);
    expect([42, 150, 3600, 7260].map(formatDuration)).toEqual(['42s', '2m 30s', '1h', '2h 1m']);
    expect(truncate('A  long\ntitle that goes on', 12)).toBe('A long titl…');
  });
});
