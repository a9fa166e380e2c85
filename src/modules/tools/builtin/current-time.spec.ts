import { currentTime } from './builtin-tools.js';

describe('current_time', () => {
  const now = new Date('2026-07-01T12:34:56.000Z');

  it('gives the local time with its offset', () => {
    expect(currentTime('Asia/Kolkata', now)).toEqual({
      timezone: 'Asia/Kolkata',
      datetime: '2026-07-01T18:04:56+05:30',
      utc: '2026-07-01T12:34:56.000Z',
      unix: 1782909296,
      weekday: 'Wednesday',
      utc_offset: '+05:30',
    });
    expect(currentTime('UTC', now)).toMatchObject({ datetime: '2026-07-01T12:34:56+00:00', utc_offset: '+00:00' });
    expect(currentTime('America/New_York', now)).toMatchObject({ datetime: '2026-07-01T08:34:56-04:00' });
  });

  it('refuses a zone that does not exist', () => {
    expect(() => currentTime('Mars/Olympus_Mons', now)).toThrow(
      expect.objectContaining({ code: 'invalid_tool_arguments', param: 'arguments.timezone' }),
    );
  });
});
