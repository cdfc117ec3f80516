/**
 * The compiler pipeline without I/O: decode, parse, resolve imports through a callback,
 * check, and generate. The CLI and tests feed it files; nothing here touches the disk.
 */
import type { FileNode } from './ast.js';
import { checkMessageLimits } from './check-limits.js';
import { check } from './checker.js';
import { DiagnosticBag, sortDiagnostics, type Diagnostic } from './diagnostics.js';
import { emitModule, type EmitOptions, type GeneratedModule } from './emit/module.js';
import { Alignments } from './layout.js';
import type { ProgramModel } from './model.js';
import { parse } from './parser.js';
import { SourceText } from './source.js';

/** One input file: its path and its contents (bytes are checked to be UTF-8). */
export interface SourceInput {
  readonly path: string;
  readonly contents: string | Uint8Array;
}

/** Finds the file of an imported library that no input declares (`undefined` when there is none). */
export type ImportResolver = (library: string, importingFile: string) => SourceInput | undefined;

/** The outcome of {@link compile}. */
export interface CompileResult {
  /** The checked program (complete only when {@link CompileResult.ok}). */
  readonly program: ProgramModel;
  /** Every problem, sorted by file and position. */
  readonly diagnostics: readonly Diagnostic[];
  /** Each input's text by path (for code frames). */
  readonly sources: ReadonlyMap<string, SourceText>;
  /** True when no error (warnings allowed) was reported. */
  readonly ok: boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder('utf-8');

/** Index of the first byte that is not part of a valid UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    let need: number;
    let min: number;
    if (b < 0x80) {
      i++;
      continue;
    } else if (b >= 0xc2 && b <= 0xdf) [need, min] = [1, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [need, min] = [2, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [need, min] = [3, 0x10000];
    else return i;
    let code = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      code = (code << 6) | (c & 0x3f);
    }
    // Overlong forms, surrogates and code points past U+10FFFF are not UTF-8.
    if (code < min || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return i;
    i += need + 1;
  }
  return -1;
}

/**
 * Compiles `inputs`. Imported libraries that no input declares are looked up with
 * `resolveImport` (and their own imports in turn). Never throws on bad input: every
 * problem is a diagnostic.
 */
export function compile(inputs: readonly SourceInput[], resolveImport?: ImportResolver): CompileResult {
  const diagnostics = new DiagnosticBag();
  const sources = new Map<string, SourceText>();
  const files: FileNode[] = [];
  const declared = new Set<string>();
  const add = (input: SourceInput) => {
    if (sources.has(input.path)) return;
    let text: string;
    if (typeof input.contents === 'string') text = input.contents;
    else {
      const bad = firstInvalidUtf8(input.contents);
      if (bad >= 0) {
        // Show the file as a lenient decoder reads it, with the caret on the first bad byte.
        const source = new SourceText(input.path, lenient.decode(input.contents));
        sources.set(input.path, source);
        const at = lenient.decode(input.contents.subarray(0, bad)).length;
        diagnostics.report('VIDL0901', source.span(at, 1), { byte: `0x${input.contents[bad]!.toString(16).padStart(2, '0')}`, offset: bad });
        return;
      }
      text = utf8.decode(input.contents);
    }
    const source = new SourceText(input.path, text);
    sources.set(input.path, source);
    const file = parse(source, diagnostics);
    files.push(file);
    if (file.library) declared.add(file.library.name.text);
  };
  for (const input of inputs) add(input);
  if (resolveImport) {
    for (let i = 0; i < files.length; i++) {
      for (const node of files[i]!.imports) {
        const name = node.name.text;
        if (declared.has(name)) continue;
        const found = resolveImport(name, files[i]!.path);
        if (found) add(found);
        // Mark as tried either way, so a missing library is looked up once and reported by the checker.
        declared.add(name);
      }
    }
  }
  // Nesting is bounded by the parser (MAX_TYPE_NESTING, VIDL0902); chains of declarations,
  // however long, are followed without recursing along them, so nothing here can run out of stack.
  const program: ProgramModel = check(files, diagnostics);
  // Layout needs a complete model: the kernel's message limits are checked once nothing else is wrong.
  if (!diagnostics.hasErrors) checkMessageLimits(program, diagnostics);
  return { program, diagnostics: sortDiagnostics(diagnostics.items), sources, ok: !diagnostics.hasErrors };
}

/**
 * Generates one module per library of a program that compiled without errors.
 * Throws if `result` has errors (generation needs a complete model).
 */
export function generate(result: CompileResult, options: EmitOptions = {}): GeneratedModule[] {
  if (!result.ok) throw new Error('vidl: cannot generate code for a program with errors');
  // One cache per call: the alignments belong to this program's model and nothing outlives it.
  const alignments = new Alignments();
  return result.program.libraries.map((library) => emitModule(library, options, alignments));
}
