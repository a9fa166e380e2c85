import { createLogger } from '../../common/logging/logger.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import { openTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import type { UsageEntry } from './usage-entry.js';
import { UsageRepository } from './usage.repository.js';

const silent = createLogger('silent');

describe('UsageRepository (on the real database)', () => {
  let db: TestDatabase;
  let prisma: PrismaService;
  let repo: UsageRepository;
  let userId: string;

  beforeAll(async () => {
    db = await openTestDatabase();
    prisma = new PrismaService(
      { url: db.url, dataDir: '/tmp', poolSize: 2, migrationsDir: 'prisma/migrations', embedded: db.embedded ?? undefined },
      silent,
    );
    repo = new UsageRepository(prisma);
    userId = (await prisma.user.create({ data: { id: '01a21232-0000-7000-8000-00000000000a', name: 'meter' } })).id;
  });
  afterAll(async () => {
    await prisma.close();
    await db.close();
  });

  const entry = (over: Partial<UsageEntry>): UsageEntry => ({
    requestId: 'req-1',
    userId,
    apiKeyId: null,
    endUser: null,
    endpoint: '/v1/chat/completions',
    requestedModel: 'm',
    upstreamModel: 'm-up',
    provider: 'p',
    promptTokens: 10,
    completionTokens: 5,
    cachedTokens: 2,
    reasoningTokens: 1,
    costMicros: 123,
    latencyMs: 12.6,
    ttftMs: null,
    status: 'ok',
    estimated: false,
    errorCode: null,
    ...over,
  });

  it('writes a batch of every status in one statement, exactly as given', async () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    await repo.insertMany([
      entry({ requestId: 'a', status: 'ok', at, costMicros: 9_007_199_254 }),
      entry({ requestId: 'b', status: 'error', errorCode: 'upstream_error', promptTokens: 0, completionTokens: 0 }),
      entry({ requestId: 'c', status: 'aborted', estimated: true, ttftMs: 7.4, endUser: 'eu-1' }),
    ]);
    const rows = await prisma.usageRecord.findMany({ where: { userId }, orderBy: { requestId: 'asc' } });
    expect(rows.map((r) => [r.requestId, r.status, r.estimated, r.errorCode])).toEqual([
      ['a', 'ok', false, null],
      ['b', 'error', false, 'upstream_error'],
      ['c', 'aborted', true, null],
    ]);
    expect(rows[0]).toMatchObject({ createdAt: at, costMicros: 9_007_199_254n, latencyMs: 13, cachedTokens: 2, reasoningTokens: 1 });
    expect(rows[2]).toMatchObject({ ttftMs: 7, endUser: 'eu-1' });
  });

  it('writes a record whatever came with the call: text PostgreSQL refuses is cleaned, counts are clamped', async () => {
    await repo.insertMany([
      entry({
        requestId: 'hostile\u0000id',
        endUser: `user\u0000${'x'.repeat(1000)}`,
        errorCode: 'e\ud800',
        status: 'incomplete',
        promptTokens: 3e9,
        completionTokens: Number.NaN,
        cachedTokens: -5,
        latencyMs: Number.POSITIVE_INFINITY,
        costMicros: -10,
      }),
    ]);
    const [row] = await prisma.usageRecord.findMany({ where: { userId, status: 'incomplete' } });
    expect(row).toMatchObject({
      requestId: 'hostileid',
      errorCode: 'e\ufffd',
      promptTokens: 2_147_483_647,
      completionTokens: 0,
      cachedTokens: 0,
      latencyMs: 0,
      costMicros: 0n,
    });
    expect(row.endUser).toHaveLength(256);
    expect(row.endUser!.startsWith('userxxx')).toBe(true);
  });

  it('writes a record once, however often it is written (a commit the caller never heard of, then its retry)', async () => {
    const once = entry({ id: '01a21232-0000-7000-8000-0000000000b1', requestId: 'twice' });
    await repo.insertMany([once]);
    await repo.insertMany([once, entry({ requestId: 'beside' })]);
    const rows = await prisma.usageRecord.findMany({ where: { userId, requestId: { in: ['twice', 'beside'] } } });
    expect(rows.map((r) => r.requestId).sort()).toEqual(['beside', 'twice']);
  });

  it('keeps a lone record whose conversation and session were deleted meanwhile, without those links', async () => {
    const gone = '01a21232-0000-7000-8000-0000000000c1';
    await repo.insertMany([entry({ requestId: 'orphan', conversationId: gone, sessionId: gone })]);
    const [row] = await prisma.usageRecord.findMany({ where: { userId, requestId: 'orphan' } });
    expect(row).toMatchObject({ conversationId: null, sessionId: null, costMicros: 123n });
  });
});
