import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./folder-cycles.mjs', import.meta.url));

/** dependency-cruiser's JSON, reduced to what the script reads: each file and what it imports. */
function cruise(imports: Record<string, string[]>): string {
  return JSON.stringify({
    modules: Object.entries(imports).map(([source, deps]) => ({ source, dependencies: deps.map((resolved) => ({ resolved })) })),
  });
}

function check(input: string): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [SCRIPT], { input, encoding: 'utf8' });
  return { status: run.status, output: run.stdout + run.stderr };
}

describe('folder-cycles', () => {
  it('fails on two modules that import each other through different files (no file-level cycle)', () => {
    const { status, output } = check(
      cruise({
        'src/modules/a/a.service.ts': ['src/modules/b/b.service.ts'],
        'src/modules/b/b.service.ts': ['src/common/ids.ts'],
        'src/modules/b/b-helper.ts': ['src/modules/a/a.types.ts'],
        'src/modules/a/a.types.ts': [],
      }),
    );
    expect(status).toBe(1);
    expect(output).toContain('src/modules/a -> src/modules/b -> src/modules/a');
    expect(output).toContain('src/modules/a/a.service.ts -> src/modules/b/b.service.ts');
    expect(output).toContain('src/modules/b/b-helper.ts -> src/modules/a/a.types.ts');
    expect(output).not.toContain('src/common');
  });

  it('folds subfolders into their folder, so a cycle through them is found', () => {
    const { status, output } = check(
      cruise({
        'src/metering/limits/limits.service.ts': ['src/llm/pricing.ts'],
        'src/llm/pricing.ts': ['src/metering/ledger/usage-entry.ts'],
        'src/modules/files/documents/zip-inspect.ts': ['src/modules/files/files.service.ts'],
      }),
    );
    expect(status).toBe(1);
    expect(output).toContain('src/llm -> src/metering -> src/llm');
    expect(output).not.toContain('src/modules/files');
  });

  it('passes imports that go one way, and leaves specs out (a spec may use test support that uses its folder)', () => {
    const { status, output } = check(
      cruise({
        'src/app.module.ts': ['src/modules/chat/chat.module.ts', 'src/config/config.module.ts'],
        'src/modules/chat/chat.module.ts': ['src/modules/completions/completions.module.ts', 'node_modules/@nestjs/common/index.d.ts'],
        'src/modules/completions/completions.module.ts': ['src/common/ids.ts', 'src/generated/prisma/client.ts'],
        'src/config/config.module.ts': ['src/common/logging/logger.ts'],
        'src/persistence/embedded-database.int-spec.ts': ['test/support/test-database.ts'],
        'src/persistence/prisma.service.spec.ts': ['test/support/test-app.ts'],
        'test/support/test-database.ts': ['src/persistence/embedded-database.ts'],
        'test/support/test-app.ts': ['src/app.module.ts'],
      }),
    );
    expect(output).toContain('no folder cycles');
    expect(status).toBe(0);
  });

  it('refuses input that is not dependency-cruiser output rather than passing it', () => {
    expect(check('').status).toBe(2);
    expect(check('{"summary":{}}').status).toBe(2);
  });
});
