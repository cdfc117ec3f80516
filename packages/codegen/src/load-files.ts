import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ImportResolver, SourceInput } from './compiler.js';

/** Reads a `.vidl` file from disk as bytes (decoded and UTF-8-checked by the compiler). */
export function readSource(path: string): SourceInput {
  return { path, contents: readFileSync(path) };
}

/**
 * Resolves `import a.b;` to a file named `a.b.vidl`: first next to the importing file, then
 * in each include directory in order.
 */
export function diskImportResolver(includeDirs: readonly string[]): ImportResolver {
  return (library, importingFile) => {
    for (const dir of [dirname(importingFile), ...includeDirs]) {
      const candidate = join(dir, `${library}.vidl`);
      if (existsSync(candidate)) return readSource(candidate);
    }
    return undefined;
  };
}
