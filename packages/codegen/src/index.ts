/**
 * `@veridian/codegen`: the VIDL interface language and its compiler. Parse and check `.vidl`
 * files, compute wire layouts, and generate typed TypeScript channel stubs for the
 * VeridianOS IPC kernel. The `vidl` command wraps the same API.
 * @packageDocumentation
 */
export { compile, generate, type CompileResult, type SourceInput, type ImportResolver } from './compiler.js';
export { diskImportResolver, readSource } from './load-files.js';
export {
  DIAGNOSTIC_CODES,
  RETIRED_DIAGNOSTIC_CODES,
  formatMessage,
  formatDiagnostic,
  formatDiagnostics,
  diagnosticToJson,
  sortDiagnostics,
  DiagnosticBag,
  type Diagnostic,
  type DiagnosticCode,
  type DiagnosticArguments,
  type MessagePlaceholders,
  type RetiredDiagnosticCode,
  type DiagnosticCodeInfo,
  type DiagnosticJson,
  type FormatOptions,
  type RelatedInformation,
  type Severity,
} from './diagnostics.js';
export { SourceText, type Span } from './source.js';
export { tokenize, type Token, type TokenKind } from './lexer.js';
export { parse, MAX_TYPE_NESTING } from './parser.js';
export { check } from './checker.js';
export type * from './ast.js';
export type * from './model.js';
export { INTEGER_TYPES, qualifiedName } from './model.js';
export { methodOrdinal, messageTypeOf, defaultSelector, resolveSelector } from './ordinal.js';
export { Layout, alignmentOf, type MessageLayout, type MethodLayout, type TransportPath } from './layout.js';
export { layoutReport, formatLayoutReport, layoutReportToJson, type LayoutReport } from './layout-report.js';
export { archLimits, isArch, loadArch, resolveArches, installedArchPackages, type ArchLimits } from './arch.js';
export { emitLibrary, type EmitOptions, type GeneratedModule } from './emit/module.js';
export { runCli, ExitCode, type CliIo } from './run-cli.js';
export { watchFiles, type WatchOptions, type Watcher } from './watch.js';
