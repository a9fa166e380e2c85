/** Import boundaries (README, "Code layout"); folder-level cycles are checked by test/lint/folder-cycles.mjs. */
const spec = '[.-]spec\\.ts$';
const prisma = ['^node_modules/@prisma/client/', '^src/generated/prisma/', '^src/persistence/prisma\\.service\\.ts$'];

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'controller-not-to-prisma',
      comment: 'Controllers are thin: they call a service and never see Prisma (the client, its generated types or PrismaService).',
      severity: 'error',
      from: { path: '\\.controller\\.ts$' },
      to: { path: prisma },
    },
    {
      name: 'only-repositories-to-prisma-client',
      comment:
        'Only repositories (and the contracts they implement), persistence and the metering ledger import the Prisma client or its generated types; services hand each other an opaque Tx.',
      severity: 'error',
      from: { path: '^src/', pathNot: [spec, '\\.repository\\.ts$', '^src/persistence/', '^src/generated/', '^src/modules/jobs/job-queue\\.ts$'] },
      to: { path: ['^node_modules/@prisma/client/', '^src/generated/prisma/'] },
    },
    {
      name: 'common-is-a-leaf',
      comment: 'src/common is shared by every layer, so it imports none of them (modules, metering, llm, config, any other).',
      severity: 'error',
      from: { path: '^src/common/' },
      to: { path: '^src/', pathNot: '^src/common/' },
    },
    {
      name: 'config-only-common',
      comment: 'config is read by everything, so it builds on common alone.',
      severity: 'error',
      from: { path: '^src/config/' },
      to: { path: '^src/', pathNot: '^src/(common|config)/' },
    },
    {
      name: 'infrastructure-only-common-and-config',
      comment: 'persistence, storage, redis and llm build on common and config (and their own files) only.',
      severity: 'error',
      from: { path: '^src/(persistence|storage|redis|llm)/', pathNot: spec },
      to: { path: '^src/', pathNot: ['^src/(common|config|generated)/', '^src/$1/'] },
    },
    {
      name: 'src-not-to-test',
      comment: 'Production code never reaches into test/ (specs beside the code may).',
      severity: 'error',
      from: { path: '^src/', pathNot: spec },
      to: { path: '^test/' },
    },
    {
      name: 'no-circular',
      comment: 'File-level import cycles (folder-level ones: test/lint/folder-cycles.mjs).',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that does not resolve is a typo or a missing dependency.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: ['node_modules', '^src/generated/'] },
    exclude: { path: ['^dist/', '^test/fixtures/'] },
    // Type-only imports count: a layer that needs another's types depends on it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.d.ts', '.js', '.mjs'],
    },
    // The lint script cruises twice (rule report, then JSON for the folder check); the second reads the first's cache.
    cache: { folder: 'node_modules/.cache/dependency-cruiser', strategy: 'content' },
  },
};
