import { createLogger } from '../../common/logging/logger.js';
import { uuidv7 } from '../../common/ids.js';
import { PrismaService } from '../../persistence/prisma.service.js';
import { openTestDatabase, type TestDatabase } from '../../../test/support/test-database.js';
import { BudgetRefused, periodStart, type BudgetHold } from './budget-ledger.js';
import { BudgetLedgerRepository } from './budget-ledger.repository.js';

describe('BudgetLedgerRepository (on the real database)', () => {
  let db: TestDatabase;
  let prisma: PrismaService;
  let ledger: BudgetLedgerRepository;

  beforeAll(async () => {
    db = await openTestDatabase();
    prisma = new PrismaService(
      { url: db.url, dataDir: '/tmp', poolSize: 8, migrationsDir: 'prisma/migrations', embedded: db.embedded ?? undefined },
      createLogger('silent'),
    );
    ledger = new BudgetLedgerRepository(prisma);
  });
  afterAll(async () => {
    await prisma.close();
    await db.close();
  });

  const user = async () => (await prisma.user.create({ data: { id: uuidv7(), name: 'spender' } })).id;
  const hold = (userId: string, limitMicros: number, amountMicros: number): BudgetHold => ({
    scope: 'user',
    scopeId: userId,
    period: 'day',
    periodStart: periodStart('day', new Date()),
    limitMicros,
    amountMicros,
  });
  const later = () => new Date(Date.now() + 60_000);

  it('never lets concurrent reservations pass the budget', async () => {
    const id = await user();
    const results = await Promise.allSettled(Array.from({ length: 12 }, () => ledger.reserve([hold(id, 1_000, 300)], later())));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(refused.every((r) => r.reason instanceof BudgetRefused)).toBe(true);
    expect(await ledger.spent('user', id, periodStart('day', new Date()))).toEqual({ spent: 0, reserved: 900 });
  });

  it('settles to the actual cost, freeing the rest of the reservation', async () => {
    const id = await user();
    const [r] = await ledger.reserve([hold(id, 1_000, 800)], later());
    await expect(ledger.reserve([hold(id, 1_000, 800)], later())).rejects.toBeInstanceOf(BudgetRefused);
    await ledger.settle([r], 120);
    expect(await ledger.spent('user', id, periodStart('day', new Date()))).toEqual({ spent: 120, reserved: 0 });
    await expect(ledger.reserve([hold(id, 1_000, 800)], later())).resolves.toHaveLength(1);
  });

  it('reserves several budgets all or nothing', async () => {
    const id = await user();
    const key = uuidv7();
    const keyHold: BudgetHold = { ...hold(key, 100, 300), scope: 'key' };
    await expect(ledger.reserve([hold(id, 1_000, 300), keyHold], later())).rejects.toBeInstanceOf(BudgetRefused);
    expect(await ledger.spent('user', id, periodStart('day', new Date()))).toBeNull();
  });

  it('releases the reservations of a replica that died, once they expire', async () => {
    const id = await user();
    await ledger.reserve([hold(id, 1_000, 700)], new Date(Date.now() - 1));
    await expect(ledger.reserve([hold(id, 1_000, 700)], later())).rejects.toBeInstanceOf(BudgetRefused);
    expect(await ledger.releaseExpired(new Date())).toBeGreaterThanOrEqual(1);
    const [again] = await ledger.reserve([hold(id, 1_000, 700)], later());
    // Settling a reservation that was already released adds the spend without releasing twice.
    expect(await ledger.spent('user', id, periodStart('day', new Date()))).toEqual({ spent: 0, reserved: 700 });
    await ledger.settle([again], 50);
    expect(await ledger.spent('user', id, periodStart('day', new Date()))).toEqual({ spent: 50, reserved: 0 });
  });

  it('starts a period from the spend the usage records already show', async () => {
    const id = await user();
    await prisma.usageRecord.create({
      data: { id: uuidv7(), userId: id, endpoint: '/chat', requestedModel: 'm', upstreamModel: 'm', provider: 'p', costMicros: 950n, status: 'ok' },
    });
    await expect(ledger.reserve([hold(id, 1_000, 100)], later())).rejects.toMatchObject({ spentMicros: 950 });
    await ledger.reset('user', id);
    expect(await ledger.spent('user', id, periodStart('day', new Date()))).toBeNull();
  });

  it('computes period starts in UTC', () => {
    const at = new Date('2026-03-15T23:30:00Z');
    expect(periodStart('day', at).toISOString()).toBe('2026-03-15T00:00:00.000Z');
    expect(periodStart('month', at).toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(periodStart('total', at).getTime()).toBe(0);
  });
});
