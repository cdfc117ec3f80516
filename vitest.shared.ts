import { defineConfig } from 'vitest/config';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Vitest settings every workspace package shares: run against source, report JSON for the totals line. */
export function packageVitestConfig(packageDir: string, extra: { testTimeout?: number; include?: string[] } = {}) {
  const name = basename(packageDir);
  const root = fileURLToPath(new URL('.', import.meta.url));
  const conditions = ['@veridian/source', 'import', 'module', 'node', 'default'];
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@veridian/source'] } },
    test: {
      include: extra.include ?? ['test/**/*.test.ts', 'src/**/*.test.ts'],
      testTimeout: extra.testTimeout ?? 20_000,
      reporters: ['default', 'json'],
      outputFile: { json: `${root}reports/vitest/${name}.json` },
      pool: 'forks',
    },
  });
}
