import { readdirSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, generate, type CompileResult } from '../src/compiler.ts';
import { formatDiagnostics } from '../src/diagnostics.ts';
import { Layout } from '../src/layout.ts';
import { aarch64 } from '@veridian/arch-aarch64';
import { x86_64 } from '@veridian/arch-x86_64';
import { archLimits } from '../src/arch.ts';

const examples = readdirSync(new URL('../examples/', import.meta.url))
  .filter((f) => f.endsWith('.vidl'))
  .map((f) => ({ path: f, text: readFileSync(new URL(`../examples/${f}`, import.meta.url), 'utf8') }));
const galleryDir = new URL('./gallery/', import.meta.url);
const gallery = readdirSync(galleryDir)
  .filter((f) => f.endsWith('.vidl'))
  .map((f) => readFileSync(new URL(f, galleryDir), 'latin1'));

/** Compiles and, when it succeeds, lays out and generates: none of it may throw, whatever the input. */
function survive(files: Array<{ path: string; contents: string | Uint8Array }>): CompileResult {
  const result = compile(files);
  for (const d of result.diagnostics) {
    const source = result.sources.get(d.span.file);
    expect(source, `diagnostic in unknown file ${d.span.file}`).toBeDefined();
    expect(d.span.offset + d.span.length).toBeLessThanOrEqual(source!.text.length);
    expect(source!.position(d.span.offset)).toEqual({ line: d.span.line, col: d.span.col });
  }
  formatDiagnostics(result.diagnostics, result.sources, { color: true });
  if (result.ok) {
    const layout = new Layout([x86_64, aarch64].map(archLimits));
    for (const library of result.program.libraries) layout.library(library);
    generate(result);
  }
  return result;
}

const TOKENS = [
  'library', 'import', 'const', 'enum', 'bits', 'struct', 'union', 'protocol', 'oneway', 'event', 'error', 'true', 'false',
  'u8', 'u16', 'u32', 'u64', 'i8', 'i64', 'f32', 'f64', 'bool', 'string', 'bytes', 'vector', 'array', 'client', 'server', 'cap',
  'a', 'B', 'demo.fs', 'S', 'P', 'x', '0', '1', '7', '-1', '0xff', '1.5', '4294967296', '"s"', '"a/P.m"',
  '{', '}', '(', ')', '<', '>', ',', ';', ':', '=', '?', '.', '@', '@selector', '->', '///', '/// doc\n', '//', '/*', '*/', '\n',
];

/** A random edit of a text: delete, duplicate, insert a token or swap two lines. */
type Mutation =
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; at: number; length: number }
  | { kind: 'insert'; at: number; token: string }
  | { kind: 'swap'; a: number; b: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 30 }) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), token: fc.constantFrom(...TOKENS) }),
  fc.record({ kind: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
);

function mutate(text: string, edits: readonly Mutation[]): string {
  let out = text;
  for (const edit of edits) {
    const at = (n: number) => (out.length === 0 ? 0 : n % (out.length + 1));
    switch (edit.kind) {
      case 'delete': {
        const i = at(edit.at);
        out = out.slice(0, i) + out.slice(i + edit.length);
        break;
      }
      case 'duplicate': {
        const i = at(edit.at);
        out = out.slice(0, i) + out.slice(i, i + edit.length) + out.slice(i);
        break;
      }
      case 'insert': {
        const i = at(edit.at);
        out = `${out.slice(0, i)} ${edit.token} ${out.slice(i)}`;
        break;
      }
      case 'swap': {
        const lines = out.split('\n');
        const a = edit.a % lines.length;
        const b = edit.b % lines.length;
        [lines[a], lines[b]] = [lines[b]!, lines[a]!];
        out = lines.join('\n');
        break;
      }
    }
  }
  return out;
}
describe('bad input never crashes the compiler (fuzz)', () => {
  it('random strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        survive([{ path: 'r.vidl', contents: text }]);
      }),
      { numRuns: 400 },
    );
  });

  it('random bytes (including invalid UTF-8)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        survive([{ path: 'b.vidl', contents: bytes }]);
      }),
      { numRuns: 200 },
    );
  });

  it('random sequences of VIDL tokens', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 80 }), (tokens) => {
        survive([{ path: 't.vidl', contents: `library t;\n${tokens.join(' ')}` }]);
      }),
      { numRuns: 400 },
    );
  });

  it('mutated valid files (all examples together, so imports are exercised)', () => {
    fc.assert(
      fc.property(fc.nat({ max: examples.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), (which, edits) => {
        const files = examples.map((e, i) => ({ path: e.path, contents: i === which ? mutate(e.text, edits) : e.text }));
        survive(files);
      }),
      { numRuns: 300 },
    );
  });

  it('mutated gallery files', () => {
    fc.assert(
      fc.property(fc.constantFrom(...gallery), fc.array(mutation, { maxLength: 3 }), (text, edits) => {
        survive([{ path: 'g.vidl', contents: mutate(text, edits) }]);
      }),
      { numRuns: 300 },
    );
  });
});
