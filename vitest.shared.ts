import { defineConfig } from 'vitest/config';

/** Vitest settings every workspace package shares: run against source, report JSON for the totals line. */
export function packageVitestConfig(packageDir: string, extra: { testTimeout?: number; include?: string[] } = {}) {
  const conditions = ['@veridian/source', 'import', 'module', 'node', 'default'];
  return defineConfig({
    resolve: { conditions },
    ssr: { resolve: { conditions, externalConditions: ['@veridian/source'] } },
    test: {
      include: extra.include ?? ['test/**/*.test.ts', 'src/**/*.test.ts'],
      testTimeout: extra.testTimeout ?? 20_000,
      reporters: ['default', 'json'],
      // Each run leaves its counts here; scripts/test-all.mjs totals them into the closing line.
      outputFile: { json: `${packageDir}/reports/vitest.json` },
      pool: 'forks',
    },
  });
}
