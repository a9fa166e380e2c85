import type { ChatAnswer } from '../../src/modules/chat/chat.service.js';
import { JobRunner } from '../../src/modules/jobs/job-runner.js';
import type { JobRow } from '../../src/modules/jobs/jobs.repository.js';

/**
 * What one run does: answer, throw, answer when the test resolves `later`, or run until stopped
 * (then answer null, as the chat runner does).
 */
export type RunStep = { answer: ChatAnswer } | { fail: unknown } | { later: Promise<ChatAnswer> } | 'until-stopped';

export interface Run {
  job: JobRow;
  signal: AbortSignal;
}

/** Runs jobs from a script, one step per run, recording each run. */
export class ScriptedJobRunner extends JobRunner {
  readonly runs: Run[] = [];
  private readonly steps: RunStep[] = [];
  private readonly watchers = new Set<() => void>();

  will(...steps: RunStep[]): this {
    this.steps.push(...steps);
    return this;
  }

  /** Resolves once `count` runs have started. */
  started(count: number): Promise<Run[]> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.runs.length < count) return;
        this.watchers.delete(check);
        resolve(this.runs);
      };
      this.watchers.add(check);
      check();
    });
  }

  override run(job: JobRow, signal: AbortSignal): Promise<ChatAnswer | null> {
    this.runs.push({ job, signal });
    for (const watcher of [...this.watchers]) watcher();
    const step = this.steps.shift();
    if (step === undefined) return Promise.reject(new Error(`run ${this.runs.length} was not scripted`));
    if (step === 'until-stopped') {
      return new Promise((resolve) => {
        if (signal.aborted) return resolve(null);
        signal.addEventListener('abort', () => resolve(null), { once: true });
      });
    }
    if ('fail' in step) return Promise.reject(step.fail);
    if ('later' in step) return step.later;
    return Promise.resolve(step.answer);
  }
}
