import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, generate, type CompileResult } from '../src/compiler.ts';
import { Alignments, Layout } from '../src/layout.ts';
import { INTEGER_TYPES, type StructModel, type Type, type TypeDeclaration } from '../src/model.ts';

/**
 * Alignment, layout and generation are linear in the program: each declaration's alignment,
 * matrix and capability count is computed once, however long the chain or ring of references.
 * Work is counted (reads of a struct's `fields`), not timed: a quadratic pass reads each
 * struct's fields once per struct that reaches it.
 */
const HEAVY = 120_000;

function program(n: number, shape: 'ring' | 'chain' | 'reverse-methods'): CompileResult {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const next = shape === 'ring' ? `S${(i + 1) % n}?` : i + 1 < n ? `S${i + 1}` : 'u64';
    lines.push(`struct S${i} { x: u8; next: ${next}; }`);
  }
  // Methods naming the chain from its end: each one's layout starts at a struct not yet done.
  if (shape === 'reverse-methods') lines.push(`protocol P {\n${Array.from({ length: n }, (_, i) => `  m${i}(s: S${n - 1 - i});`).join('\n')}\n}`);
  else lines.push('protocol P { m(s: S0) -> (s: S0); }');
  const r = compile([{ path: 'big.vidl', contents: `library a;\n${lines.join('\n')}\n` }]);
  expect(r.diagnostics).toEqual([]);
  return r;
}

/** Counts reads of every struct's `fields` from now on. */
function countFieldReads(r: CompileResult): { readonly reads: number } {
  const counter = { reads: 0 };
  for (const d of r.program.libraries[0]!.declarations) {
    if (d.kind !== 'struct') continue;
    const fields = d.fields;
    Object.defineProperty(d, 'fields', {
      get() {
        counter.reads++;
        return fields;
      },
    });
  }
  return counter;
}

function generation(n: number, shape: 'ring' | 'chain') {
  const r = program(n, shape);
  const counter = countFieldReads(r);
  const [module] = generate(r);
  return { readsPerStruct: counter.reads / n, charsPerStruct: module!.text.length / n, text: module!.text };
}

describe('generation is linear in the number of declarations', () => {
  for (const shape of ['ring', 'chain'] as const) {
    it(
      `a ${shape} of 30000 structs generates with constant work per struct and linear output`,
      () => {
        const small = generation(300, shape);
        const big = generation(30_000, shape);
        // Each struct's fields are read a fixed number of times, however many structs reach it.
        expect(big.readsPerStruct).toBe(small.readsPerStruct);
        expect(big.readsPerStruct).toBeLessThanOrEqual(10);
        // Longer names only: the output per struct stays the same size.
        expect(big.charsPerStruct).toBeLessThan(small.charsPerStruct * 1.1);
        // A ring through an optional u8 field: everything aligns to 1; the chain ends in a u64.
        const align = shape === 'ring' ? 1 : 8;
        expect(big.text).toContain(`export function encodeS29999($w: WireWriter, $v: S29999): void {\n  $w.enter(${align});`);
        expect(big.text).toContain(`export function encodeS0($w: WireWriter, $v: S0): void {\n  $w.enter(${align});`);
      },
      HEAVY,
    );
  }

  it(
    'the layout of many methods, each starting where the last left off, does each struct once',
    () => {
      const n = 5000;
      const r = program(n, 'reverse-methods');
      const counter = countFieldReads(r);
      const methods = new Layout([{ name: 'x', maxSmallData: 64, maxSmallCaps: 4 }]).library(r.program.libraries[0]!);
      expect(methods).toHaveLength(n);
      expect(methods[0]!.request.alignment).toBe(8);
      // S0 … S(n−1) each put a u8 padded to 8 (they align to 8), then the last one's u64.
      expect(methods[n - 1]!.request.maxSize).toBe(8 * n + 8);
      expect(counter.reads / n).toBeLessThanOrEqual(10);
    },
    HEAVY,
  );
});

/** The largest alignment reachable from `type`, by a plain search (the definition). */
function naiveAlignment(type: Type): number {
  const seen = new Set<TypeDeclaration>();
  const work: Type[] = [type];
  let alignment = 1;
  for (let t = work.pop(); t !== undefined; t = work.pop()) {
    switch (t.kind) {
      case 'primitive':
        alignment = Math.max(alignment, { bool: 1, u8: 1, i8: 1, u16: 2, i16: 2, u32: 4, i32: 4, f32: 4, u64: 8, i64: 8, f64: 8 }[t.name]);
        break;
      case 'string':
      case 'bytes':
      case 'capability':
        alignment = Math.max(alignment, 4);
        break;
      case 'vector':
        alignment = Math.max(alignment, 4);
        work.push(t.element);
        break;
      case 'array':
        work.push(t.element);
        break;
      case 'optional':
        work.push(t.inner);
        break;
      case 'named':
        if (t.decl.kind === 'enum' || t.decl.kind === 'bits') alignment = Math.max(alignment, INTEGER_TYPES[t.decl.underlying].size);
        else if (!seen.has(t.decl)) {
          seen.add(t.decl);
          if (t.decl.kind === 'union') alignment = Math.max(alignment, 4);
          for (const m of t.decl.kind === 'struct' ? t.decl.fields : t.decl.members) work.push(m.type);
        }
        break;
      case 'error':
        break;
    }
  }
  return alignment;
}

describe('Alignments', () => {
  it('matches the largest alignment reachable, on random graphs of structs and unions', () => {
    const leaf = fc.constantFrom('u8', 'u16', 'u32', 'u64', 'bool', 'string', 'E');
    const graph = fc.integer({ min: 1, max: 8 }).chain((n) =>
      fc.record({
        n: fc.constant(n),
        unions: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
        fields: fc.array(fc.array(fc.oneof(leaf, fc.integer({ min: 0, max: n - 1 })), { maxLength: 3 }), { minLength: n, maxLength: n }),
      }),
    );
    fc.assert(
      fc.property(graph, ({ n, unions, fields }) => {
        const decls = Array.from({ length: n }, (_, i) => {
          const members = fields[i]!.map((f, k) => `${unions[i] ? `${k + 1}: ` : ''}f${k}: ${typeof f === 'number' ? `D${f}?` : f};`);
          if (unions[i]) return `union D${i} { ${members.length > 0 ? members.join(' ') : '1: z: u8;'} }`;
          return `struct D${i} { ${members.join(' ')} }`;
        });
        const r = compile([{ path: 'g.vidl', contents: `library a;\nenum E : u16 { A = 1; }\n${decls.join('\n')}\n` }]);
        expect(r.diagnostics).toEqual([]);
        const alignments = new Alignments();
        for (const d of r.program.libraries[0]!.declarations) {
          if (d.kind !== 'struct' && d.kind !== 'union') continue;
          expect(alignments.declaration(d)).toBe(naiveAlignment({ kind: 'named', decl: d }));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('gives every struct of a ring the ring’s largest alignment, and a struct outside it only what it reaches', () => {
    const r = compile([{ path: 'r.vidl', contents: 'library a;\nstruct A { b: B?; }\nstruct B { c: C?; x: u16; }\nstruct C { a: A?; y: u64; }\nstruct Out { a: A; }\nstruct Leaf { x: u16; }\nstruct In { l: Leaf; next: In?; }\n' }]);
    expect(r.diagnostics).toEqual([]);
    const alignments = new Alignments();
    const byName = new Map(r.program.libraries[0]!.declarations.map((d) => [d.name, d as StructModel]));
    expect(['A', 'B', 'C', 'Out', 'Leaf', 'In'].map((n) => alignments.declaration(byName.get(n)!))).toEqual([8, 8, 8, 8, 2, 2]);
  });
});
