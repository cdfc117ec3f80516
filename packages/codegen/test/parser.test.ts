import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { FileNode } from '../src/ast.ts';
import { DiagnosticBag } from '../src/diagnostics.ts';
import { parse } from '../src/parser.ts';
import { SourceText, type Span } from '../src/source.ts';

function parseText(text: string, path = 't.vidl') {
  const diagnostics = new DiagnosticBag();
  const source = new SourceText(path, text);
  return { file: parse(source, diagnostics), diagnostics: diagnostics.items, source };
}

/** Every object in the tree that has a `kind` (a node). */
function nodes(value: unknown, out: Array<{ kind: string; span?: Span }> = []): Array<{ kind: string; span?: Span }> {
  if (Array.isArray(value)) value.forEach((v) => nodes(v, out));
  else if (value !== null && typeof value === 'object') {
    if ('kind' in value) out.push(value as { kind: string; span?: Span });
    for (const [key, child] of Object.entries(value)) if (key !== 'span') nodes(child, out);
  }
  return out;
}

describe('parser', () => {
  it('reports a missing ; at the end of the token before it, not on the next line', () => {
    const { diagnostics } = parseText('library t;\nprotocol P {\n  m(a: u8) -> (b: u8)\n  n();\n}\nstruct S { x: u8 }\n');
    expect(diagnostics.map((d) => [d.code, d.span.line, d.span.col, d.message])).toEqual([
      ['VIDL0010', 3, 22, "expected ';' after the method, found 'n'"],
      ['VIDL0010', 6, 17, "expected ';' after the field, found '}'"],
    ]);
  });

  const demo = readFileSync(new URL('../examples/demo.fs.vidl', import.meta.url), 'utf8');

  it('parses the issue example without diagnostics', () => {
    const { file, diagnostics } = parseText(demo);
    expect(diagnostics).toEqual([]);
    expect(file.library?.name.text).toBe('demo.fs');
    expect(file.library?.docs.lines).toEqual(['Doc comments attach to the next declaration and reach the generated code.']);
    expect(file.declarations.map((d) => `${d.kind} ${d.name.name}`)).toEqual(['Const MAX_PATH', 'Enum Status', 'Bits Mode', 'Struct Stat', 'Union Entry', 'Protocol File']);
    const protocol = file.declarations[5]!;
    if (protocol.kind !== 'Protocol') throw new Error('expected a protocol');
    expect(protocol.methods.map((m) => [m.name.name, m.methodKind, m.response?.fields.length ?? null, m.error?.name.text ?? null])).toEqual([
      ['read', 'twoWay', 1, 'Status'],
      ['write', 'twoWay', 1, 'Status'],
      ['stat', 'twoWay', 1, null],
      ['close', 'oneway', null, null],
      ['changed', 'event', null, null],
      ['clone', 'oneway', null, null],
      ['open', 'twoWay', 1, 'Status'],
      ['sync', 'twoWay', 0, null],
    ]);
    expect(protocol.methods[7]!.attributes[0]!.argument?.value).toBe('demo.fs/File.legacy_sync');
  });

  it('puts a span on every node, and each span is the text it covers', () => {
    const { file, source } = parseText(demo, 'demo.vidl');
    const all = nodes(file);
    expect(all.length).toBeGreaterThan(100);
    for (const node of all) {
      expect(node.span, node.kind).toBeDefined();
      const span = node.span!;
      expect(span.file).toBe('demo.vidl');
      expect(source.position(span.offset)).toEqual({ line: span.line, col: span.col });
      expect(span.offset + span.length).toBeLessThanOrEqual(demo.length);
    }
    const stat = file.declarations.find((d) => d.name.name === 'Stat')!;
    expect(demo.slice(stat.span.offset, stat.span.offset + stat.span.length)).toMatch(/^struct Stat \{[\s\S]*\}$/);
  });

  it('attaches doc comments to declarations, members and parameters', () => {
    const { file, diagnostics } = parseText('library l;\n/// A.\n/// B.\nstruct S {\n  /// F.\n  f: u8;\n}\nprotocol P {\n  /// M.\n  m(\n    /// X.\n    x: u8);\n}');
    expect(diagnostics).toEqual([]);
    const s = file.declarations[0]!;
    expect(s.docs.lines).toEqual(['A.', 'B.']);
    if (s.kind !== 'Struct') throw new Error();
    expect(s.members[0]!.docs.lines).toEqual(['F.']);
    const p = file.declarations[1]!;
    if (p.kind !== 'Protocol') throw new Error();
    expect(p.methods[0]!.docs.lines).toEqual(['M.']);
    expect(p.methods[0]!.request.fields[0]!.docs.lines).toEqual(['X.']);
  });

  it('reads keywords as names where a name is expected', () => {
    const { file, diagnostics } = parseText('library l;\nstruct error { struct: u8; event: u8; }\nprotocol P { oneway(); event(x: u8) -> (); event event(); oneway oneway(); }');
    expect(diagnostics).toEqual([]);
    const p = file.declarations[1]!;
    if (p.kind !== 'Protocol') throw new Error();
    expect(p.methods.map((m) => `${m.methodKind} ${m.name.name}`)).toEqual(['oneway oneway', 'twoWay event', 'event event', 'oneway oneway']);
  });

  it('reports several independent syntax errors in one file and keeps the good declarations', () => {
    const text = [
      'library l;',
      'struct A { x u8; y: u8; }', // missing ':'
      'struct B { z: u8 }', // missing ';'
      'enum C : u8 { ONE = ; TWO = 2; }', // missing value
      'protocol D { m(a: u8 -> (); n(); }', // missing ')'
      'struct E { ok: u8; }',
    ].join('\n');
    const { file, diagnostics } = parseText(text);
    expect(diagnostics.map((d) => [d.code, d.span.line])).toEqual([
      ['VIDL0010', 2],
      ['VIDL0010', 3],
      ['VIDL0010', 4],
      ['VIDL0010', 5],
    ]);
    expect(file.declarations.map((d) => d.name.name)).toEqual(['A', 'B', 'C', 'D', 'E']);
    const a = file.declarations[0]!;
    if (a.kind !== 'Struct') throw new Error();
    expect(a.members.map((m) => m.name.name)).toEqual(['y']);
  });

  it('recovers from a missing closing brace at the next declaration', () => {
    const { file, diagnostics } = parseText('library l;\nstruct A { x: u8;\nstruct B { y: u8; }');
    expect(diagnostics.map((d) => d.message)).toEqual(["expected '}' to close the body, found 'struct'"]);
    expect(file.declarations.map((d) => d.name.name)).toEqual(['A', 'B']);
  });

  it('never throws on truncated input', () => {
    const text = 'library l; struct S { a: vector<string<4>, 3>?; } protocol P { m(a: u8) -> (b: u8) error E; }';
    for (let i = 0; i <= text.length; i++) {
      const { file } = parseText(text.slice(0, i));
      expect(file.kind).toBe('File' satisfies FileNode['kind']);
    }
  });
});
