import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { WireReader, WireWriter } from '@veridian/core';
import { aarch64 } from '@veridian/arch-aarch64';
import { x86_64 } from '@veridian/arch-x86_64';
import { archLimits } from '../src/arch.ts';
import { compile } from '../src/compiler.ts';
import { Layout } from '../src/layout.ts';
import { layoutReport, formatLayoutReport } from '../src/layout-report.ts';
import type { LibraryModel, ProgramModel, StructModel } from '../src/model.ts';
import * as kv from '../examples/generated/demo.kv.ts';
import * as shapes from '../examples/generated/demo.shapes.ts';
import * as fsModule from '../examples/generated/demo.fs.ts';
import { fields } from './support/arbitraries.ts';
import { compileFiles } from './support/compile-files.ts';

const both = [archLimits(x86_64), archLimits(aarch64)];

function program(source: string): ProgramModel {
  const result = compile([{ path: 'test.vidl', contents: `library t;\n${source}` }]);
  expect(result.diagnostics).toEqual([]);
  return result.program;
}

function struct(p: ProgramModel, name: string): StructModel {
  const decl = p.libraries[0]!.declarations.find((d) => d.name === name);
  if (decl?.kind !== 'struct') throw new Error(`no struct ${name}`);
  return decl;
}

/** Max size and caps of struct `name` encoded as a message body (from offset 0). */
function bodyOf(source: string, name = 'S') {
  const p = program(source);
  return new Layout(both).body(struct(p, name).fields);
}

describe('layout: exact maxima', () => {
  it.each([
    ['padding depends on where a variable-length value ends', 'struct S { a: u8; s: string<1>; b: u16; }', 12, 4],
    ['a vector of u64 aligns its elements to 8', 'struct S { v: vector<u64, 2>; }', 24, 8],
    ['an optional u64: presence byte, then the value at 8', 'struct S { o: u64?; }', 16, 8],
    ['a string after a bool', 'struct S { b: bool; s: string<3>; }', 11, 4],
    ['a union is its tag plus its largest member', 'union U { 1: a: u8; 2: b: u64; } struct S { u: U; }', 16, 8],
    ['an empty struct is one byte', 'struct E {} struct S { e: E; }', 1, 1],
    ['arrays repeat their element exactly', 'struct S { a: array<array<u16, 3>, 2>; c: u8; }', 13, 2],
    ['u32 after a string of up to 5 bytes', 'struct S { s: string<5>; x: u32; }', 16, 4],
    ['bytes after an enum: padding to the length prefix', 'enum E : u16 { A = 1; } struct S { e: E; b: bytes<2>; }', 10, 4],
  ])('%s', (_what, source, maxSize, alignment) => {
    const layout = bodyOf(source);
    expect(layout.maxSize).toBe(maxSize);
    expect(layout.alignment).toBe(alignment);
  });

  it('recursion through an optional or a missing bound is unbounded', () => {
    expect(bodyOf('struct S { next: S?; }').maxSize).toBe(Infinity);
    expect(bodyOf('struct S { names: vector<string<4>>; }').maxSize).toBe(Infinity);
    expect(bodyOf('struct S { s: string; }').maxSize).toBe(Infinity);
  });

  it('counts capabilities, unbounded only when a recursive type holds one', () => {
    expect(bodyOf('struct S { a: cap; b: client<P>?; c: array<cap, 2>; } protocol P { m(); }').maxCaps).toBe(4);
    expect(bodyOf('struct S { v: vector<cap, 3>; u: U; } union U { 1: a: cap; 2: b: u8; }').maxCaps).toBe(4);
    expect(bodyOf('struct S { c: cap; next: S?; }').maxCaps).toBe(Infinity);
    expect(bodyOf('struct S { next: S?; x: T; } struct T { c: cap; }').maxCaps).toBe(Infinity);
    expect(bodyOf('struct S { next: S?; x: u8; }').maxCaps).toBe(0);
    expect(bodyOf('struct S { a: A; } struct A { b: B?; } struct B { a: A?; c: cap; }').maxCaps).toBe(Infinity);
  });

  it('picks the fast path per arch from the limits (64 bytes, 4 capabilities today)', () => {
    const p = program('struct S { a: array<u8, 64>; } struct T { a: array<u8, 65>; } struct C { c: array<cap, 5>; }');
    const layout = new Layout([...both, { name: 'tiny', maxSmallData: 16, maxSmallCaps: 1 }]);
    expect(layout.body(struct(p, 'S').fields).paths).toEqual({ x86_64: 'fast', aarch64: 'fast', tiny: 'large' });
    expect(layout.body(struct(p, 'T').fields).paths).toEqual({ x86_64: 'large', aarch64: 'large', tiny: 'large' });
    expect(layout.body(struct(p, 'C').fields).paths).toEqual({ x86_64: 'large', aarch64: 'large', tiny: 'large' });
  });

  it('says too-large, and warns VIDL0406, when a bound exceeds what the kernel carries (1 MiB, 64 capabilities)', () => {
    const result = compile([
      {
        path: 'big.vidl',
        contents: 'library big;\nprotocol P {\n  fits(d: bytes<1048572>);\n  over(d: bytes<1048573>);\n  get() -> (d: bytes<4194304>);\n  caps(c: vector<cap, 65>);\n  unbounded(d: bytes);\n}\n',
      },
    ]);
    expect(result.ok).toBe(true);
    expect(result.diagnostics.map((d) => [d.code, d.severity, d.span.line])).toEqual([
      ['VIDL0406', 'warning', 4],
      ['VIDL0406', 'warning', 5],
      ['VIDL0406', 'warning', 6],
    ]);
    const methods = layoutReport(result.program, both).libraries[0]!.methods;
    const path = (name: string, which: 'request' | 'reply' = 'request') => methods.find((m) => m.method === name)![which]!.paths.x86_64;
    expect([path('fits'), path('over'), path('get', 'reply'), path('get'), path('caps'), path('unbounded')]).toEqual(['large', 'too-large', 'too-large', 'fast', 'too-large', 'large']);
    expect(formatLayoutReport(layoutReport(result.program, both))).toMatch(/P\.get +two-way .*\n +reply +4194308 +4 +0 +too-large +too-large/);
  });

  it('reports the demo.kv protocol entirely on the fast path, the demo.fs reads and stats on the large one', () => {
    const result = compileFiles(['examples/demo.kv.vidl', 'examples/demo.fs.vidl']);
    const report = layoutReport(result.program, both);
    const methods = report.libraries.flatMap((l) => l.methods.map((m) => ({ ...m, library: l.library })));
    for (const m of methods.filter((x) => x.library === 'demo.kv')) {
      expect(m.request.paths).toEqual({ x86_64: 'fast', aarch64: 'fast' });
      if (m.reply) expect(m.reply.paths).toEqual({ x86_64: 'fast', aarch64: 'fast' });
    }
    const read = methods.find((m) => m.protocol === 'File' && m.method === 'read')!;
    expect(read.request.maxSize).toBe(12);
    expect(read.reply!.maxSize).toBe(8196);
    expect(read.reply!.paths.x86_64).toBe('large');
    expect(methods.find((m) => m.method === 'clone' && m.protocol === 'File')!.request).toMatchObject({ maxSize: 4, maxCaps: 1 });
    const text = formatLayoutReport(report);
    expect(text).toContain('File.read');
    expect(text).toMatch(/File\.stat +two-way +0x[0-9a-f]{8} +request +0 +1 +0 +fast +fast/);
    expect(text).toMatch(/reply +unbounded +8 +0 +large +large/);
  });
});

/** Every message body and struct of the example libraries, with its generated codec. */
function codecs(library: LibraryModel, module: Record<string, unknown>) {
  const out: Array<{ name: string; fields: StructModel['fields']; body: boolean }> = [];
  for (const decl of library.declarations) {
    if (decl.kind === 'struct') out.push({ name: decl.name, fields: decl.fields, body: false });
    if (decl.kind === 'protocol') {
      for (const m of decl.methods) {
        const base = `${decl.name}${m.name[0]!.toUpperCase()}${m.name.slice(1)}`;
        out.push({ name: m.kind === 'event' ? `${base}Event` : `${base}Request`, fields: m.request, body: true });
        if (m.response) out.push({ name: `${base}Response`, fields: m.response, body: true });
      }
    }
  }
  return out.map((c) => ({
    ...c,
    encode: module[`encode${c.name}`] as (w: WireWriter, v: unknown) => void,
    decode: module[`decode${c.name}`] as (r: WireReader) => unknown,
  }));
}

describe('layout agrees with the generated encoders (property)', () => {
  const result = compileFiles(['examples/demo.kv.vidl', 'examples/demo.shapes.vidl', 'examples/demo.fs.vidl']);
  const layout = new Layout(both);
  const modules: Record<string, Record<string, unknown>> = { 'demo.kv': kv, 'demo.shapes': shapes, 'demo.fs': fsModule };
  const cases = result.program.libraries.filter((l) => modules[l.name]).flatMap((l) => codecs(l, modules[l.name]!).map((c) => [`${l.name}.${c.name}`, c] as const));

  it.each(cases)('%s: encodings stay within the computed maximum and decode back', (_name, c) => {
    const decl = result.program.libraries.flatMap((l) => l.declarations).find((d) => d.name === c.name && d.kind === 'struct');
    const bound = c.body || !decl || decl.kind !== 'struct' ? layout.body(c.fields) : { maxSize: layout.maxSize({ kind: 'named', decl }), maxCaps: layout.maxCaps({ kind: 'named', decl }) };
    fc.assert(
      fc.property(fields(c.fields), (value) => {
        const writer = new WireWriter();
        c.encode(writer, value);
        const bytes = writer.finish().slice();
        expect(bytes.length).toBeLessThanOrEqual(bound.maxSize);
        expect(writer.caps.length).toBeLessThanOrEqual(bound.maxCaps);
        const reader = new WireReader(bytes, writer.caps);
        expect(c.decode(reader)).toEqual(value);
        reader.end();
      }),
      { numRuns: 60 },
    );
  });
});
