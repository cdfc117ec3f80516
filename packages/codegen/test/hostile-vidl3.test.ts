import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_TYPE_NESTING } from '../src/parser.ts';
import { runCli } from '../src/run-cli.ts';
import { codes, run as runLocated, strictTypecheck, validGen as validGenShared } from './support/hostile.ts';

/** The third adversarial pass: nesting limits, chains, cascades, and inputs vidl had not seen. */
const run = (...files: Array<string | Uint8Array>) => runLocated('v', ...files);
const tsc = (r: ReturnType<typeof run>) => strictTypecheck(r, 'v3');
const validGen = (src: string) => validGenShared('v', src);
const at = (r: ReturnType<typeof run>) => r.diagnostics.map((d) => `${d.code} ${d.span.line}:${d.span.col}`);
const chain = (n: number, line: (i: number) => string) => Array.from({ length: n }, (_, i) => line(i)).join('\n');

describe('nesting limit (VIDL0902)', () => {
  const nested = (depth: number) => `${'vector<'.repeat(depth - 1)}u8${'>'.repeat(depth - 1)}`;
  it(`${MAX_TYPE_NESTING} levels compile to valid TypeScript`, () => validGen(`library a;\nstruct S { x: ${nested(MAX_TYPE_NESTING)}; }\n`));
  it('one level more is VIDL0902 at the first type past the limit', () => {
    const r = run(`library a;\nstruct S { x: ${nested(MAX_TYPE_NESTING + 1)}; }\n`);
    expect(codes(r)).toEqual(['VIDL0902']);
    expect(r.diagnostics[0]!.span.col).toBe(15 + 'vector<'.length * MAX_TYPE_NESTING);
  });
  it('30000 deep is one VIDL0902, and the rest of the file is still checked', () => {
    const r = run(`library a;\nstruct S { x: ${nested(30000)}; y: Nope; }\nstruct T { z: Nope2; }\n`);
    expect(codes(r)).toEqual(['VIDL0902', 'VIDL0101', 'VIDL0101'].slice(0, codes(r).length));
    expect(codes(r)[0]).toBe('VIDL0902');
    expect(codes(r)).toContain('VIDL0101');
  });
  it('deep nesting in a parameter, an array and an optional is VIDL0902', () => {
    expect(codes(run(`library a;\nprotocol P { m(x: ${'array<'.repeat(5000)}u8${', 2>'.repeat(5000)}) -> (); }\n`))).toEqual(['VIDL0902']);
    expect(codes(run(`library a;\nconst C: ${'vector<'.repeat(5000)}u8?${'>?'.repeat(5000)} = 1;\n`))).toEqual(['VIDL0902']);
  });
  it('unclosed deep nesting at EOF is one diagnostic, no crash', () => expect(codes(run(`library a;\nstruct S { x: ${'vector<'.repeat(100000)}`))).toEqual(['VIDL0902']));
});

describe('long chains and cycles: no recursion along declarations', () => {
  const n = 20000;
  it('a chain of 20000 structs carrying a capability: VIDL0405 on the event, nothing else', () => {
    const r = run(`library a;\n${chain(n, (i) => `struct S${i} { x: S${i + 1}; }`)}\nstruct S${n} { c: client<P>?; }\nprotocol P { m(s: S0) -> (); event e(s: S0); }\n`);
    expect(codes(r)).toEqual(['VIDL0405']);
  });
  it('a ring of 20000 structs through optionals compiles (and lays out unbounded)', () => {
    const r = run(`library a;\n${chain(n, (i) => `struct S${i} { x: S${(i + 1) % n}?; }`)}\nprotocol P { m(s: S0) -> (); }\n`);
    expect(codes(r)).toEqual([]);
  });
  it('a ring of 20000 structs without a break is one VIDL0201', () => {
    const r = run(`library a;\n${chain(n, (i) => `struct S${i} { x: S${(i + 1) % n}; }`)}\n`);
    expect(codes(r)).toEqual(['VIDL0201']);
  });
  it('a chain of 20000 constants is evaluated', () => {
    const r = run(`library a;\n${chain(n, (i) => `const C${i}: u32 = C${i + 1};`)}\nconst C${n}: u32 = 7;\nstruct S { s: string<C0>; }\n`);
    expect(codes(r)).toEqual([]);
    expect(r.program.libraries[0]!.declarations.find((d) => d.name === 'C0')).toMatchObject({ value: 7n });
  });
  it('a cycle of 20000 constants is one VIDL0209', () => expect(at(run(`library a;\n${chain(n, (i) => `const C${i}: u32 = C${(i + 1) % n};`)}\n`))).toEqual(['VIDL0209 2:17']));
  it('a chain of 5000 enum members, each naming the next (each a duplicate value of the first)', () => {
    const r = run(`library a;\nenum E : u32 {\n${chain(5000, (i) => `A${i} = ${i + 1 < 5000 ? `E.A${i + 1}` : 0};`)}\n}\n`);
    expect(new Set(codes(r))).toEqual(new Set(['VIDL0303']));
    expect(r.program.libraries[0]!.declarations[0]).toMatchObject({ members: [{ name: 'A0', value: 0n }] });
  });
  it('constants alternating with enum members over 5000 steps', () => {
    const m = 5000;
    const src = `library a;\n${chain(m, (i) => `const C${i}: u32 = E${i}.M;\nenum E${i} : u32 { M = ${i + 1 < m ? `C${i + 1}` : 1}; }`)}\n`;
    expect(codes(run(src))).toEqual([]);
  });
  it('two enums whose members name each other are VIDL0209, not silently memberless', () => {
    const r = run('library a;\nenum E : u8 { A = F.B; }\nenum F : u8 { B = E.A; }\n');
    expect(codes(r)).toEqual(['VIDL0209']);
  });
  it('a member may name a constant or member declared after it (same value as a member is VIDL0303, not silence)', () => {
    validGen('library a;\nenum E : u8 { A = K; B = F.X; }\nconst K: u8 = 3;\nenum F : u8 { X = 4; }\nprotocol P { m(e: E) -> (); }\n');
    expect(codes(run('library a;\nenum E : u8 { A = E.B; B = 1; }\n'))).toEqual(['VIDL0303']);
  });
  it('an enum member naming itself is VIDL0209', () => expect(codes(run('library a;\nenum E : u8 { A = E.A; B = 1; }\n'))).toEqual(['VIDL0209']));
  it('a chain of 3000 libraries each importing the next', () => {
    const m = 3000;
    const files = Array.from({ length: m }, (_, i) => (i + 1 < m ? `library l${i};\nimport l${i + 1};\nstruct S { x: l${i + 1}.S; }\n` : `library l${i};\nstruct S { x: u8; }\n`));
    expect(codes(run(...files))).toEqual([]);
  });
});

describe('one diagnostic per root cause', () => {
  it('a method declared twice is VIDL0103 once, at the second, naming the first', () => {
    const r = run('library a;\nprotocol P { m() -> (); m(x: u8) -> (); }\n');
    expect(at(r)).toEqual(['VIDL0103 2:25']);
    expect(r.diagnostics[0]!.related[0]!.span.col).toBe(14);
  });
  it('an event named like a method is one VIDL0103', () => expect(codes(run('library a;\nprotocol P { m() -> (); event m(); }\n'))).toEqual(['VIDL0103']));
  it('a field declared twice with a bad type: VIDL0103 and the type error, nothing else', () => expect(codes(run('library a;\nstruct S { a: u8; a: Nope; }\nprotocol P { m(s: S) -> (); }\n'))).toEqual(['VIDL0103', 'VIDL0101']));
  it('an enum member declared twice with the same value is one VIDL0103', () => expect(codes(run('library a;\nenum E : u8 { A = 1; A = 1; }\n'))).toEqual(['VIDL0103']));
  it('a bits member declared twice is one VIDL0103', () => expect(codes(run('library a;\nbits B : u8 { A = 1; A = 3; }\n'))).toEqual(['VIDL0103']));
  it('a union member declared twice with the same tag is one VIDL0103', () => expect(codes(run('library a;\nunion U { 1: a: u8; 1: a: u8; }\n'))).toEqual(['VIDL0103']));
  it('a parameter declared twice is one VIDL0103', () => expect(codes(run('library a;\nprotocol P { m(a: u8, a: u8) -> (a: u8, a: u8); }\n'))).toEqual(['VIDL0103', 'VIDL0103']));
  it('a declaration declared twice is one VIDL0102, and uses of the name are not errors', () => expect(codes(run('library a;\nstruct S { x: u8; }\nenum S : u8 { A = 1; }\nprotocol P { m(s: S) -> (s: S); }\nconst C: u8 = 1;\nconst C: u8 = 300;\n'))).toEqual(['VIDL0102', 'VIDL0102']));
  it('an unknown type used five times is five VIDL0101, nothing more', () => expect(codes(run('library a;\nstruct S { a: Nope; b: vector<Nope>; c: Nope?; }\nprotocol P { m(x: Nope) -> (y: Nope); event e(s: S); }\n'))).toEqual(Array(5).fill('VIDL0101')));
  it('a bad constant is reported once, not at every use', () => expect(codes(run('library a;\nconst N: u32 = "x";\nstruct S { s: string<N>; t: vector<u8, N>; }\nconst M: u32 = N;\nenum E : u32 { A = N; }\n'))).toEqual(['VIDL0208']));
  it('a bad underlying type is reported once, not at every member', () => expect(codes(run('library a;\nenum E : Nope { A = 1; B = 2; }\nconst C: E = E.A;\n'))).toEqual(['VIDL0101']));
  it('a constant cycle is one VIDL0209 even when sizes use it', () => expect(codes(run('library a;\nconst A: u32 = B;\nconst B: u32 = A;\nstruct S { s: string<A>; t: bytes<B>; }\n'))).toEqual(['VIDL0209']));
});

describe('inputs vidl had not seen', () => {
  it('a 10000-character identifier', () => validGen(`library a;\nstruct ${'S'.repeat(10000)} { ${'f'.repeat(10000)}: u8; }\nprotocol P { ${'m'.repeat(10000)}(${'p'.repeat(10000)}: u8) -> (); }\n`));
  it('BOM, CRLF and tabs everywhere, comment at EOF without newline', () => validGen('\ufefflibrary a;\r\n\t/// doc\r\n\tprotocol P {\r\n\t\tm(\tx:\tu8\t)\t->\t();\r\n\t}\r\n// end'));
  it('block comment at EOF without newline', () => expect(codes(run('library a;\nstruct S { x: u8; }\n/* end */'))).toEqual([]));
  it('doc comment at EOF without newline is VIDL0016 only', () => expect(codes(run('library a;\nstruct S { x: u8; }\n/// end'))).toEqual(['VIDL0016']));
  it('a lone CR at EOF and a BOM in the middle', () => expect(codes(run('library a;\r\ufeffstruct S { x: u8; }\r'))).toEqual([]));
  it('reserved TS/JS words as member names generate valid TS', () =>
    validGen(
      'library a;\nstruct S { constructor: u8; then: u8; default: u8; prototype: u8; toString: u8; valueOf: u8; hasOwnProperty: u8; length: u8; name: u8; }\nunion U { 1: constructor: u8; 2: then: u8; 3: default: u8; 4: prototype: u8; }\nenum E : u8 { default = 1; then = 2; prototype = 3; length = 4; name = 5; caller = 6; arguments = 7; }\nbits B : u8 { default = 1; prototype = 2; }\nprotocol P { default(s: S) -> (constructor: u8, then: u8, default: E); prototype(u: U) -> (); toString() -> (); valueOf() -> (); event deflt(x: u8); event then(b: B); }\n',
    ));
  it('reserved words as parameter names are VIDL0110, one each', () => expect(codes(run('library a;\nprotocol P { m(default: u8, then: u8, constructor: u8) -> (); }\n'))).toEqual(['VIDL0110']));
  it('__proto__ anywhere is VIDL0110 once', () => {
    expect(codes(run('library a;\nstruct S { __proto__: u8; }\n'))).toEqual(['VIDL0110']);
    expect(codes(run('library a;\nunion U { 1: __proto__: u8; }\n'))).toEqual(['VIDL0110']);
    expect(codes(run('library a;\nprotocol P { __proto__() -> (); }\n'))).toEqual(['VIDL0110']);
  });
  it('declarations named like generated helpers or core names', () => {
    for (const name of ['constructor', 'then', 'default', '__proto__', 'WireWriter', 'serveProtocol', 'ApplicationError']) {
      const r = run(`library a;\nstruct ${name} { x: u8; }\n`);
      if (r.ok) expect(tsc(r), name).toEqual([]);
      else expect(codes(r), name).toEqual(['VIDL0110']);
    }
  });
  it('a struct named like the generated client, server or error of a protocol is VIDL0501', () => {
    for (const name of ['PClient', 'PServer', 'PError', 'PServerHandle', 'serveP', 'PMRequest', 'PMResponse', 'encodePMRequest']) {
      const r = run(`library a;\nstruct ${name} { x: u8; }\nprotocol P { m(x: u8) -> (y: u8) error u32; }\n`);
      if (r.ok) expect(tsc(r), name).toEqual([]);
      else expect(codes(r), name).toEqual(['VIDL0501']);
    }
  });
  it('empty protocol, empty struct, library alone', () => {
    validGen('library a;\nprotocol P {}\nstruct S {}\n');
    validGen('library a;\n');
    validGen('library a.b.c;\nprotocol Q {}\n');
  });
  it('integer constants at the exact limits of every type', () => {
    validGen(
      'library a;\nconst A: u8 = 255;\nconst B: i8 = -128;\nconst C: i8 = 127;\nconst D: u16 = 0xffff;\nconst E: i16 = -32768;\nconst F: u32 = 4294967295;\nconst G: i32 = -2147483648;\nconst H: u64 = 0xffff_ffff_ffff_ffff;\nconst I: i64 = -9223372036854775808;\nconst J: i64 = 9223372036854775807;\nconst K: f32 = 3.4028234663852886e38;\nconst L: f64 = 1.7976931348623157e308;\nconst M: f64 = -5e-324;\nconst N: u8 = 0;\n',
    );
    for (const [type, value] of [['u8', '256'], ['i8', '-129'], ['i8', '128'], ['u16', '65536'], ['i16', '-32769'], ['u32', '4294967296'], ['i32', '2147483648'], ['u64', '-1'], ['i64', '9223372036854775808'], ['f32', '3.5e38'], ['f64', '2e308']] as const) {
      expect(codes(run(`library a;\nconst X: ${type} = ${value};\n`)), `${type} ${value}`).toEqual(['VIDL0208']);
    }
  });
  it('enum and bits members at the limits of their underlying types', () => validGen('library a;\nenum A : i8 { MIN = -128; MAX = 127; }\nenum B : u16 { MAX = 65535; }\nbits C : u32 { TOP = 0x8000_0000; }\nenum D : i32 { MIN = -2147483648; }\nprotocol P { m(a: A, b: B, c: C, d: D) -> (a: A) error D; }\n'));
  it('a selector whose ordinal is any 64-bit value, and a 5000-character selector', () => validGen(`library a;\nprotocol P { @selector("${'x'.repeat(5000)}") m() -> (); @selector("b.c/Q.r") n() -> (); }\n`));
  it('nested optional and array types generate valid TS', () =>
    validGen('library a;\nstruct T { x: u8; }\nstruct S { a: array<vector<string?, 3>?, 2>; b: vector<array<T?, 2>?>?; c: array<array<array<u8, 1>, 1>, 1>; d: vector<vector<vector<T>?>?>?; }\nunion U { 1: a: array<U?, 2>; 2: b: vector<S?>; }\nprotocol P { m(s: S, u: U?) -> (s: S?, v: vector<U?, 2>); }\n'));
  it('NUL bytes inside a comment, a string and between tokens', () => {
    expect(codes(run('library a;\n// \u0000 in a comment\nconst S: string = "a\u0000b";\n'))).toEqual([]);
    expect(codes(run('library a;\nstruct S {\u0000 x: u8; }\n'))).toEqual(['VIDL0001']);
  });
  it('a string constant with a NUL byte generates valid TS', () => validGen('library a;\nconst S: string = "a\u0000b\u2028c";\n'));
  it('non-ASCII letters in a name are VIDL0001 once per character run, not a cascade', () => {
    const r = run('library a;\nstruct Straße { x: u8; }\n');
    expect(r.ok).toBe(false);
    expect(codes(r)).toContain('VIDL0001');
  });
});

describe('the CLI reading hostile files', () => {
  it('invalid UTF-8 in a file is VIDL0901 located at the byte, exit 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vidl3-'));
    try {
      writeFileSync(join(dir, 'bad.vidl'), Buffer.from([...Buffer.from('library a;\nstruct S { x: u8; } // caf'), 0xc3, 0x28, 0x0a]));
      writeFileSync(join(dir, 'nul.vidl'), Buffer.from('library b;\nstruct S { x: u8; }\n\u0000'));
      let out = '';
      const io = { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (out += t) }, cwd: dir, env: { NO_COLOR: '1' } };
      expect(await runCli(['check', 'bad.vidl'], io)).toBe(1);
      expect(out).toContain('error[VIDL0901]');
      expect(out).toContain('bad.vidl:2:');
      out = '';
      expect(await runCli(['check', 'nul.vidl'], io)).toBe(1);
      expect(out).toContain('error[VIDL0001]');
      expect(out).toContain('nul.vidl:3:1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
