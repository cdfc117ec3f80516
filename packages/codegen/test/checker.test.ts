import { describe, expect, it } from 'vitest';
import { compile, type SourceInput } from '../src/compiler.ts';
import type { ConstModel, EnumModel, ProtocolModel, StructModel } from '../src/model.ts';
import { methodOrdinal } from '../src/ordinal.ts';
import { compileFiles } from './support/compile-files.ts';

function check(...files: string[]) {
  const inputs: SourceInput[] = files.map((contents, i) => ({ path: `f${i}.vidl`, contents }));
  return compile(inputs);
}
const codes = (r: ReturnType<typeof check>) => r.diagnostics.map((d) => d.code);

describe('checker', () => {
  it('an unknown import is one diagnostic, not one more per name used from it', () => {
    const r = check('library a;\nimport nope.lib;\nstruct S { x: nope.lib.T; y: nope.lib.U; z: vector<nope.lib.V, 2>; }\nconst C: u32 = nope.lib.MAX;\n');
    expect(codes(r)).toEqual(['VIDL0104']);
    // A name that is unknown for another reason is still reported.
    expect(codes(check('library a;\nimport nope.lib;\nstruct S { x: nope.lib.T; y: Missing; }\n'))).toEqual(['VIDL0104', 'VIDL0101']);
  });

  it('resolves the demo.fs example: types, constants, bounds, ordinals', () => {
    const result = compileFiles(['examples/demo.fs.vidl']);
    expect(result.diagnostics).toEqual([]);
    const [library] = result.program.libraries;
    const find = <T>(name: string) => library!.declarations.find((d) => d.name === name) as T;
    expect(find<ConstModel>('MAX_PATH').value).toBe(4096n);
    expect(find<EnumModel>('Status').members.map((m) => [m.name, m.value])).toEqual([
      ['NOT_FOUND', 1n],
      ['DENIED', 2n],
    ]);
    const stat = find<StructModel>('Stat');
    expect(stat.fields.map((f) => f.type.kind)).toEqual(['primitive', 'named', 'string', 'vector', 'optional']);
    const file = find<ProtocolModel>('File');
    const read = file.methods[0]!;
    expect(read.selector).toBe('demo.fs/File.read');
    expect(read.ordinal).toBe(methodOrdinal('demo.fs/File.read'));
    expect(read.messageType).toBe(Number(read.ordinal & 0xffffffffn));
    const entry = find<{ members: Array<{ type: { kind: string; max?: number } }> }>('Entry');
    expect(entry.members[1]!.type).toEqual({ kind: 'string', max: 4096 });
    const sync = file.methods.find((m) => m.name === 'sync')!;
    expect(sync.selector).toBe('demo.fs/File.legacy_sync');
    const open = file.methods.find((m) => m.name === 'open')!;
    expect(open.response![0]!.type).toMatchObject({ kind: 'capability', end: 'client', protocol: file });
  });

  it('imports across files, including a library found through the resolver', () => {
    const result = compileFiles(['examples/demo.kv.vidl']);
    expect(result.diagnostics).toEqual([]);
    expect(result.program.libraries.map((l) => l.name)).toEqual(['demo.common', 'demo.kv']);
    const kv = result.program.libraries[1]!;
    expect(kv.imports.map((l) => l.name)).toEqual(['demo.common']);
  });

  it('merges files that declare the same library and reports duplicates across them', () => {
    const ok = check('library a;\nstruct S { t: T; }', 'library a;\nstruct T { x: u8; }');
    expect(ok.diagnostics).toEqual([]);
    expect(ok.program.libraries[0]!.files).toEqual(['f0.vidl', 'f1.vidl']);
    const dup = check('library a;\nstruct S {}', 'library a;\nstruct S {}');
    expect(codes(dup)).toEqual(['VIDL0102']);
    expect(dup.diagnostics[0]!.span.file).toBe('f1.vidl');
    expect(dup.diagnostics[0]!.related[0]!.span.file).toBe('f0.vidl');
  });

  it('evaluates constants through references, enum members and bits', () => {
    const r = check(`library a;
      const A: u32 = B;
      const B: u32 = 7;
      enum E : i8 { LOW = -128; HIGH = A; }
      bits F : u64 { TOP = 0x8000_0000_0000_0000; ONE = 1; }
      const D: E = E.HIGH;
      const G: F = 0x8000_0000_0000_0001;
      const H: u8 = E.HIGH;
      const S: string<3> = "abc";
      const X: f32 = 2;
      const Y: f64 = -1.5e3;
      struct V { v: vector<u8, A>; }`);
    expect(r.diagnostics).toEqual([]);
    const values = Object.fromEntries(r.program.libraries[0]!.declarations.filter((d): d is ConstModel => d.kind === 'const').map((d) => [d.name, d.value]));
    expect(values).toEqual({ A: 7n, B: 7n, D: 7n, G: 0x8000000000000001n, H: 7n, S: 'abc', X: 2, Y: -1500 });
  });

  it('reports every problem in a file, not just the first', () => {
    const r = check(`library a;
      struct S { a: Missing; b: string<0>; c: S; }
      enum E : u8 { A = 1; B = 1; C = 999; }
      union U { 0: x: u8; }
      protocol P { m() -> () error S; n(t: client<S>); }`);
    expect(codes(r).sort()).toEqual(['VIDL0101', 'VIDL0201', 'VIDL0202', 'VIDL0203', 'VIDL0204', 'VIDL0302', 'VIDL0303', 'VIDL0306'].sort());
  });

  it('allows cycles broken by an optional or a vector, in structs and unions', () => {
    const r = check('library a;\nstruct T { kids: vector<T, 4>; up: T?; u: U?; }\nunion U { 1: t: T; 2: more: vector<U, 2>; }');
    expect(r.diagnostics).toEqual([]);
  });

  it('reports a selector collision with both locations', () => {
    const r = check('library a;\nprotocol P {\n  @selector("a/P.m") x();\n  m();\n}');
    expect(codes(r)).toEqual(['VIDL0401']);
    expect(r.diagnostics[0]!.related[0]!.span.line).toBe(3);
  });

  it('accepts a full selector from another library and a bare method name', () => {
    const r = check('library a;\nprotocol P {\n  @selector("other.lib/Q.n") x();\n  @selector("renamed") y();\n}');
    expect(r.diagnostics).toEqual([]);
    const p = r.program.libraries[0]!.declarations[0] as ProtocolModel;
    expect(p.methods.map((m) => m.selector)).toEqual(['other.lib/Q.n', 'a/P.renamed']);
  });

  it('never reports a diagnostic twice for one unresolved name', () => {
    const r = check('library a;\nstruct S { a: Nope; b: vector<Nope, 2>; }');
    expect(r.diagnostics.map((d) => `${d.code}@${d.span.col}`)).toEqual(['VIDL0101@15', 'VIDL0101@31']);
  });
});
