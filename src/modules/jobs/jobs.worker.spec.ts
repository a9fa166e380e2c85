import { DomainError, errorRecord, type ErrorRecord } from '../../common/errors/domain-error.js';
import { errorView } from '../../common/errors/error-table.js';
import { ErrorTranslator } from '../../common/errors/error-translator.js';
import { UpstreamFailure } from '../../llm/llm-provider.js';
import { MemoryJobQueue } from '../../../test/fakes/memory-job-queue.js';
import { memoryLogger, type MemoryLogger } from '../../../test/fakes/memory-logger.js';
import { ScriptedJobRunner } from '../../../test/fakes/scripted-job-runner.js';
import { completion } from '../../../test/fakes/scripted-provider.js';
import { testConfig } from '../../../test/factories/app-config.js';
import type { ChatAnswer } from '../chat/chat.service.js';
import { JobsWorker } from './jobs.worker.js';

const LEASE_MS = 3_000;
const MAX_ATTEMPTS = 3;
const GRACE_MS = 1_000;
const config = testConfig({ jobs: { concurrency: 2, lease_ms: LEASE_MS, max_attempts: MAX_ATTEMPTS }, server: { shutdown_grace_ms: GRACE_MS } });

/** An error of the database driver's that the persistence layer knows. */
class DatabaseAway extends Error {}

/** Recognises DatabaseAway as the persistence module's translator does a driver's error. */
class FakeTranslator extends ErrorTranslator {
  override translate(err: unknown): DomainError | undefined {
    return err instanceof DatabaseAway ? new DomainError('unavailable', 'The database is unavailable.') : undefined;
  }
}

const answer = (text: string): ChatAnswer => ({ ...completion(text), conversation_id: 'conv-1', session_id: 'session-1', cost: 0.0001 });
const upstream429 = () =>
  new DomainError('rate_limited', 'The upstream provider acme is rate limiting requests (HTTP 429).', {
    retryAfterSeconds: 2,
    cause: new UpstreamFailure('http', 'The upstream answered 429.', { status: 429, retryAfterMs: 2_000 }),
  });

describe('JobsWorker', () => {
  let queue: MemoryJobQueue;
  let runner: ScriptedJobRunner;
  let log: MemoryLogger;
  let worker: JobsWorker;

  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2025-03-14T12:00:00Z'), doNotFake: ['nextTick', 'queueMicrotask'] });
    queue = new MemoryJobQueue();
    runner = new ScriptedJobRunner();
    log = memoryLogger();
    worker = new JobsWorker(queue, runner, config, new FakeTranslator(), log.logger);
    worker.onApplicationBootstrap();
  });
  afterEach(async () => {
    const stopped = worker.onModuleDestroy();
    await jest.advanceTimersByTimeAsync(GRACE_MS);
    await stopped;
    jest.useRealTimers();
  });

  it('claims a queued job, runs it, and records its answer and conversation', async () => {
    const job = queue.add();
    runner.will({ answer: answer('done') });
    worker.poke();

    const done = await queue.finished(job.id);
    expect(done).toMatchObject({ status: 'succeeded', attempts: 1, leaseUntil: null, conversationId: 'conv-1', error: null });
    expect(done.result).toMatchObject({ choices: [{ message: { content: 'done' } }], conversation_id: 'conv-1' });
    expect(runner.runs.map((r) => [r.job.id, r.job.attempts])).toEqual([[job.id, 1]]);
  });

  it('runs at most JOBS_CONCURRENCY jobs at once, and the next as soon as a slot frees', async () => {
    const [a, b, c] = [queue.add(), queue.add(), queue.add()];
    runner.will('until-stopped', 'until-stopped', { answer: answer('third') });
    worker.poke();
    await runner.started(2);
    await jest.advanceTimersByTimeAsync(5_000);
    expect(runner.runs.map((r) => r.job.id)).toEqual([a.id, b.id]);
    expect(queue.get(c.id).status).toBe('queued');

    worker.cancelLocal(a.id);
    expect(await queue.finished(a.id)).toMatchObject({ status: 'cancelled' });
    expect(await queue.finished(c.id)).toMatchObject({ status: 'succeeded' });
    expect(queue.get(b.id).status).toBe('running');
  });

  it('picks up submitted work on its own, polling every second', async () => {
    await jest.advanceTimersByTimeAsync(0);
    runner.will({ answer: answer('polled') });
    const job = queue.add();
    await jest.advanceTimersByTimeAsync(999);
    expect(runner.runs).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    expect(await queue.finished(job.id)).toMatchObject({ status: 'succeeded' });
  });

  describe('the lease', () => {
    it('is renewed while the job runs, so no other worker can claim it', async () => {
      const job = queue.add();
      runner.will('until-stopped');
      worker.poke();
      await runner.started(1);

      await jest.advanceTimersByTimeAsync(LEASE_MS * 5);
      expect(queue.get(job.id).leaseUntil!.getTime()).toBeGreaterThan(Date.now());
      await expect(queue.claim(LEASE_MS)).resolves.toBeNull();
      expect(runner.runs[0].signal.aborted).toBe(false);
    });

    it('brings a cancel asked for elsewhere to the running job at its next renewal', async () => {
      const job = queue.add();
      runner.will('until-stopped');
      worker.poke();
      await runner.started(1);
      queue.requestCancel(job.id);

      await jest.advanceTimersByTimeAsync(LEASE_MS / 3);
      expect(runner.runs[0].signal.aborted).toBe(true);
      expect(await queue.finished(job.id)).toMatchObject({ status: 'cancelled' });
    });

    it("stops a job another worker has taken over, writing nothing over that worker's claim", async () => {
      const job = queue.add();
      runner.will('until-stopped');
      worker.poke();
      await runner.started(1);
      queue.takeOver(job.id, LEASE_MS);

      await jest.advanceTimersByTimeAsync(LEASE_MS / 3);
      expect(runner.runs[0].signal.aborted).toBe(true);
      await jest.advanceTimersByTimeAsync(0);
      expect(queue.get(job.id)).toMatchObject({ status: 'running', attempts: 2, finishedAt: null });
    });

    it('stops a job whose lease it could not renew for most of its term; once the lease lapses, the job is claimed again', async () => {
      const job = queue.add();
      runner.will('until-stopped', { answer: answer('second claim') });
      worker.poke();
      await runner.started(1);
      queue.failNext('renew', new DatabaseAway('connection refused'));

      // Renewals every LEASE_MS / 3 fail; the run is stopped once more than 80 % of the lease passed unrenewed.
      await jest.advanceTimersByTimeAsync((LEASE_MS / 3) * 2);
      expect(runner.runs[0].signal.aborted).toBe(false);
      await jest.advanceTimersByTimeAsync(LEASE_MS / 3);
      expect(runner.runs[0].signal.aborted).toBe(true);

      queue.heal();
      await jest.advanceTimersByTimeAsync(LEASE_MS);
      expect(await queue.finished(job.id)).toMatchObject({ status: 'succeeded', attempts: 2 });
      expect(runner.runs.map((r) => r.job.attempts)).toEqual([1, 2]);
    });

    it('runs a job lost by its worker again, up to its last attempt', async () => {
      const past = new Date(Date.now() - 60_000);
      const job = queue.add({ status: 'running', attempts: MAX_ATTEMPTS - 1, leaseUntil: past, startedAt: past });
      runner.will({ answer: answer('recovered') });
      worker.poke();

      expect(await queue.finished(job.id)).toMatchObject({ status: 'succeeded', attempts: MAX_ATTEMPTS });
    });

    it('gives up on a job lost more often than max_attempts, without running it', async () => {
      const past = new Date(Date.now() - 60_000);
      const job = queue.add({ status: 'running', attempts: MAX_ATTEMPTS, leaseUntil: past, startedAt: past });
      worker.poke();

      const done = await queue.finished(job.id);
      expect(done).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS + 1 });
      expect(done.error).toEqual({
        kind: 'unavailable',
        code: 'job_lost',
        param: null,
        message: `The job was lost ${MAX_ATTEMPTS} times by workers that stopped while running it.`,
      });
      expect(runner.runs).toEqual([]);
    });
  });

  describe('retries', () => {
    it("waits out an upstream's 429 in the queue, each wait an attempt, then fails with it on the last", async () => {
      const job = queue.add();
      runner.will({ fail: upstream429() }, { fail: upstream429() }, { fail: upstream429() });
      worker.poke();

      await queue.until(job.id, (j) => j.status === 'queued' && j.attempts === 1);
      expect(queue.get(job.id).runAfter.getTime()).toBe(Date.now() + 2_000);
      await jest.advanceTimersByTimeAsync(1_999);
      expect(runner.runs).toHaveLength(1);
      await jest.advanceTimersByTimeAsync(10_000);

      const done = await queue.finished(job.id);
      expect(done).toMatchObject({ status: 'failed', attempts: MAX_ATTEMPTS });
      expect(done.error).toEqual(errorRecord(upstream429()));
      expect(runner.runs.map((r) => r.job.attempts)).toEqual([1, 2, 3]);
    });

    it("waits for this server's own rate limit without using an attempt", async () => {
      const job = queue.add();
      const ours = new DomainError('rate_limited', 'Rate limit reached for tokens per minute on this API key.', {
        retryAfterSeconds: 30,
        retryable: true,
      });
      runner.will({ fail: ours }, { fail: ours }, { fail: ours }, { fail: ours }, { answer: answer('at last') });
      worker.poke();
      await jest.advanceTimersByTimeAsync(4 * 30_000);

      expect(await queue.finished(job.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect(runner.runs.map((r) => r.job.attempts)).toEqual([1, 1, 1, 1, 1]);
    });

    it('fails at once on a rate limit the job can never meet', async () => {
      const job = queue.add();
      const never = new DomainError('rate_limited', 'This request may use 5000 tokens, more than the limit.', { retryable: false });
      runner.will({ fail: never });
      worker.poke();

      expect(await queue.finished(job.id)).toMatchObject({ status: 'failed', attempts: 1, error: errorRecord(never) });
    });

    it('keeps trying to record an answer that is already stored, rather than run the job again', async () => {
      const job = queue.add();
      runner.will({ answer: answer('stored') });
      queue.failNext('finish', new DatabaseAway('connection reset'), 2);
      worker.poke();
      await jest.advanceTimersByTimeAsync(500 + 1_000);

      expect(await queue.finished(job.id)).toMatchObject({ status: 'succeeded', attempts: 1 });
      expect(runner.runs).toHaveLength(1);
    });
  });

  describe('a failed job', () => {
    it('keeps the domain error the client would have had from POST /chat', async () => {
      const job = queue.add();
      const rejected = new DomainError('upstream_rejected', "Invalid value for 'temperature'.", {
        status: 400,
        code: 'invalid_value',
        param: 'temperature',
        type: 'invalid_request_error',
      });
      runner.will({ fail: rejected });
      worker.poke();

      expect((await queue.finished(job.id)).error).toEqual({
        kind: 'upstream_rejected',
        message: "Invalid value for 'temperature'.",
        status: 400,
        code: 'invalid_value',
        param: 'temperature',
        type: 'invalid_request_error',
      });
    });

    it('keeps an infrastructure error as the domain error it translates to', async () => {
      const job = queue.add();
      runner.will({ fail: new DatabaseAway('connect ECONNREFUSED 10.0.0.7:5432') });
      worker.poke();

      const { error } = await queue.finished(job.id);
      expect(error).toEqual({ kind: 'unavailable', message: 'The database is unavailable.', param: null });
      // Read back, it carries its kind's default code, as POST /chat would have answered it.
      expect(errorView(error as unknown as ErrorRecord)).toMatchObject({ status: 503, code: 'service_unavailable' });
    });

    it('keeps an unexpected error as an internal error that says nothing, and logs it', async () => {
      const job = queue.add();
      runner.will({ fail: new TypeError("Cannot read properties of undefined (reading 'secret')") });
      worker.poke();

      const done = await queue.finished(job.id);
      expect(done.error).toEqual({ kind: 'internal', message: 'The server had an error while processing your request.', param: null });
      expect(errorView(done.error as unknown as ErrorRecord)).toMatchObject({ status: 500, code: 'internal_error' });
      expect(log.lines).toContainEqual(expect.objectContaining({ level: 'error', msg: 'a job failed unexpectedly', jobId: job.id }));
    });
  });

  it('cancels a job whose cancel was asked for before it ran, without running it', async () => {
    const past = new Date(Date.now() - 60_000);
    const job = queue.add({ status: 'running', attempts: 1, leaseUntil: past, cancelRequested: true });
    worker.poke();

    expect(await queue.finished(job.id)).toMatchObject({ status: 'cancelled' });
    expect(runner.runs).toEqual([]);
  });

  it('retries claiming every second while the queue is away, saying so once', async () => {
    queue.failNext('claim', new DatabaseAway('connection refused'));
    const job = queue.add();
    runner.will({ answer: answer('back') });
    worker.poke();
    await jest.advanceTimersByTimeAsync(3_000);
    expect(log.lines.filter((l) => l.msg === 'could not claim jobs; retrying every second')).toHaveLength(1);

    queue.heal();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(await queue.finished(job.id)).toMatchObject({ status: 'succeeded' });
    expect(log.lines).toContainEqual(expect.objectContaining({ msg: 'claiming jobs again' }));
  });

  describe('at shutdown', () => {
    it('lets a running job finish within half the grace period', async () => {
      const job = queue.add();
      let finish!: (a: ChatAnswer) => void;
      runner.will({ later: new Promise<ChatAnswer>((resolve) => (finish = resolve)) });
      worker.poke();
      await runner.started(1);

      const stopped = worker.onModuleDestroy();
      await jest.advanceTimersByTimeAsync(GRACE_MS / 4);
      finish(answer('just in time'));
      await stopped;
      expect(queue.get(job.id)).toMatchObject({ status: 'succeeded' });
    });

    it('hands a job still running after half the grace period back to the queue, its attempt not counted', async () => {
      const job = queue.add();
      runner.will('until-stopped');
      worker.poke();
      await runner.started(1);

      const stopped = worker.onModuleDestroy();
      await jest.advanceTimersByTimeAsync(GRACE_MS / 2);
      await stopped;
      expect(runner.runs[0].signal.aborted).toBe(true);
      expect(queue.get(job.id)).toMatchObject({ status: 'queued', attempts: 0, leaseUntil: null });
    });
  });
});
