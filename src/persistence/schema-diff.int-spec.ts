import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffSql } from './schema-diff.js';

describe('prisma/schema.prisma and prisma/migrations', () => {
  it('agree: replaying every migration yields exactly the schema', async () => {
    await expect(diffSql({ schemaPath: 'prisma/schema.prisma', migrationsDir: 'prisma/migrations' })).resolves.toBe('');
  });

  it('would notice a model change that has no migration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'colloquy-schema-'));
    const schemaPath = join(dir, 'schema.prisma');
    copyFileSync('prisma/schema.prisma', schemaPath);
    const changed = readFileSync(schemaPath, 'utf8').replace('  name         String\n', '  name         String\n  nickname     String?\n');
    expect(changed).not.toEqual(readFileSync('prisma/schema.prisma', 'utf8'));
    writeFileSync(schemaPath, changed);
    await expect(diffSql({ schemaPath, migrationsDir: 'prisma/migrations' })).resolves.toMatch(/ALTER TABLE "users" ADD COLUMN\s+"nickname" TEXT/);
  });
});
