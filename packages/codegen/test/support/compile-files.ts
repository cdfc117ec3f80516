import { readFileSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, type CompileResult } from '../../src/compiler.ts';
import { diskImportResolver } from '../../src/load-files.ts';

/** The codegen package directory: test paths and diagnostics are relative to it. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A path relative to the package root, with `/` separators (stable across machines). */
export function packagePath(absolute: string): string {
  return relative(PACKAGE_ROOT, absolute).split(sep).join('/');
}

/**
 * Compiles files given relative to the package root, resolving imports next to the
 * importing file and in `includeDirs` (also relative to the package root).
 */
export function compileFiles(paths: readonly string[], includeDirs: readonly string[] = []): CompileResult {
  const resolver = diskImportResolver(includeDirs.map((d) => resolve(PACKAGE_ROOT, d)));
  return compile(
    paths.map((p) => ({ path: p, contents: readFileSync(resolve(PACKAGE_ROOT, p)) })),
    (library, importingFile) => {
      const found = resolver(library, resolve(PACKAGE_ROOT, importingFile));
      return found && { path: packagePath(found.path), contents: found.contents };
    },
  );
}
