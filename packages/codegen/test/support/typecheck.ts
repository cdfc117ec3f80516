import ts from 'typescript';

/**
 * Type-checks `files` (on disk, or in `virtualFiles` by absolute path) as `tsc --strict --noEmit` would, resolving `@veridian/core` to core's
 * source through the workspace's `@veridian/source` export condition. Returns the
 * diagnostics of those files only, formatted (core's own code is checked by core).
 */
export function typecheck(files: readonly string[], extra: ts.CompilerOptions = {}, virtualFiles: ReadonlyMap<string, string> = new Map()): string[] {
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    lib: ['lib.es2023.d.ts'],
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    customConditions: ['@veridian/source'],
    allowImportingTsExtensions: true,
    verbatimModuleSyntax: true,
    isolatedModules: true,
    skipLibCheck: true,
    types: ['node'],
    ...extra,
  };
  // Files that exist only in memory (absolute paths inside the package, so module resolution works).
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.readFile = (f) => virtualFiles.get(ts.sys.resolvePath(f)) ?? readFile(f);
  host.fileExists = (f) => virtualFiles.has(ts.sys.resolvePath(f)) || fileExists(f);
  const program = ts.createProgram(files, options, host);
  const wanted = new Set(files.map((f) => ts.sys.resolvePath(f)));
  const formatHost: ts.FormatDiagnosticsHost = { getCanonicalFileName: (f) => f, getCurrentDirectory: () => process.cwd(), getNewLine: () => '\n' };
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file === undefined || wanted.has(ts.sys.resolvePath(d.file.fileName)))
    .map((d) => ts.formatDiagnostic(d, formatHost).trim());
}
