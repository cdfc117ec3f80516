import { describe, expect, it } from 'vitest';
import { compile } from '../src/compiler.ts';
import { codes, run as runLocated, strictTypecheck, validGen as validGenShared } from './support/hostile.ts';

const run = (...files: Array<string | Uint8Array>) => runLocated('h', ...files);
const tsc = (r: ReturnType<typeof run>) => strictTypecheck(r, 'h3');
const validGen = (src: string) => validGenShared('h', src);

describe('hostile vidl: lexical', () => {
  it('empty file is VIDL0011', () => expect(codes(run(''))).toEqual(['VIDL0011']));
  it('only comments is VIDL0011', () => expect(codes(run('// hi\n/* x */\n'))).toContain('VIDL0011'));
  it('unterminated block comment VIDL0003', () => expect(codes(run('library a;\n/* never'))).toContain('VIDL0003'));
  it('unterminated string VIDL0002', () => expect(codes(run('library a;\nconst S: string = "abc\n;'))).toContain('VIDL0002'));
  it('BOM + CRLF + tabs accepted', () => validGen('\ufefflibrary a;\r\n\tstruct S {\r\n\t\tx: u32;\r\n\t}\r\n'));
  it('BOM as bytes accepted', () => expect(codes(run(new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode('library a;\nstruct S { x: u8; }\n')])))).toEqual([]));
  it('CRLF line/col are right', () => {
    const r = run('library a;\r\nstruct S {\r\n  x: nope;\r\n}\r\n');
    expect(codes(r)).toEqual(['VIDL0101']);
    expect([r.diagnostics[0]!.span.line, r.diagnostics[0]!.span.col]).toEqual([3, 6]);
  });
  it('CR-only line endings: line numbers', () => {
    const r = run('library a;\rstruct S {\r  x: nope;\r}\r');
    expect(codes(r)).toEqual(['VIDL0101']);
    expect(r.diagnostics[0]!.span.line).toBe(3);
  });
  it('unicode identifier is VIDL0001', () => expect(codes(run('library a;\nstruct Ünï { x: u8; }\n'))).toContain('VIDL0001'));
  it('astral char is VIDL0001 once', () => expect(codes(run('library a;\n😀\nstruct S { x: u8; }\n'))).toEqual(['VIDL0001']));
  it('invalid utf8 VIDL0901', () => expect(codes(run(new Uint8Array([0x6c, 0xff, 0x0a])))).toEqual(['VIDL0901']));
  it('lone surrogate in string contents', () => { const r = run('library a;\nconst S: string = "\ud800";\n'); expect(r.ok || codes(r).length > 0).toBe(true); });
  it('escape \\u{110000} is VIDL0005', () => expect(codes(run('library a;\nconst S: string = "\\u{110000}";\n'))).toEqual(['VIDL0005']));
  it('escape \\u{D800} is VIDL0005', () => expect(codes(run('library a;\nconst S: string = "\\u{D800}";\n'))).toEqual(['VIDL0005']));
  it('string with all escapes generates valid TS', () => validGen('library a;\nconst S: string = "q\\"b\\\\n\\n\\t\\r\\u{1F600}\\u{2028}\\u{2029}*/${x}`";\n'));
  it('number 1__0 invalid', () => expect(codes(run('library a;\nconst X: u32 = 1__0;\n'))).toEqual(['VIDL0004']));
  it('number 0x invalid', () => expect(codes(run('library a;\nconst X: u32 = 0x;\n'))).toEqual(['VIDL0004']));
  it('number 0b102 invalid', () => expect(codes(run('library a;\nconst X: u32 = 0b102;\n'))).toEqual(['VIDL0004']));
  it('number 1_e5 invalid (underscore not between digits)', () => expect(codes(run('library a;\nconst X: f64 = 1_e5;\n'))).toEqual(['VIDL0004']));
  it('number 1_.5 invalid (underscore not between digits)', () => expect(codes(run('library a;\nconst X: f64 = 1_.5;\n'))).toEqual(['VIDL0004']));
  it('number 1._5 invalid', () => expect(codes(run('library a;\nconst X: f64 = 1._5;\n')).length).toBeGreaterThan(0));
  it('number 1.5_ invalid', () => expect(codes(run('library a;\nconst X: f64 = 1.5_;\n'))).toEqual(['VIDL0004']));
  it('huge decimal const fits u64 max', () => validGen('library a;\nconst X: u64 = 18446744073709551615;\nconst Y: i64 = -9223372036854775808;\n'));
  it('u64 max+1 VIDL0208', () => expect(codes(run('library a;\nconst X: u64 = 18446744073709551616;\n'))).toEqual(['VIDL0208']));
  it('enormous integer literal does not hang/crash', () => expect(codes(run(`library a;\nconst X: u64 = ${'9'.repeat(5000)};\n`))).toEqual(['VIDL0208']));
  it('very long line', () => validGen(`library a;\nstruct S { ${Array.from({ length: 2000 }, (_, i) => `f${i}: u8;`).join(' ')} }\n`));
  it('doc comment with */ inside generates valid TS', () => validGen('library a;\n/// ends */ here /* and @param x \\u0000\nstruct S { /// */\n x: u8; }\n'));
  it('doc comment at EOF VIDL0016', () => expect(codes(run('library a;\n/// dangling\n'))).toEqual(['VIDL0016']));
});

describe('hostile vidl: numeric', () => {
  it('float const to integer type is an error', () => expect(codes(run('library a;\nconst X: u32 = 1.5;\n')).length).toBeGreaterThan(0));
  it('f32 const overflow 1e300', () => { const r = run('library a;\nconst X: f32 = 1e300;\n'); expect(codes(r)).toEqual(['VIDL0208']); });
  it('f64 const 1e400 (Infinity)', () => { const r = run('library a;\nconst X: f64 = 1e400;\n'); expect(codes(r)).toEqual(['VIDL0208']); });
  it('f64 integer-valued const generates valid TS', () => validGen('library a;\nconst X: f64 = 3;\nconst Y: f32 = -0.0;\nconst Z: f64 = 2e3;\n'));
  it('integer const from float-typed const is error', () => expect(codes(run('library a;\nconst F: f64 = 1.5;\nconst X: u32 = F;\n')).length).toBeGreaterThan(0));
  it('string bound 0 VIDL0202', () => expect(codes(run('library a;\nstruct S { s: string<0>; }\n'))).toEqual(['VIDL0202']));
  it('string bound 2^32 VIDL0202', () => expect(codes(run('library a;\nstruct S { s: string<4294967296>; }\n'))).toEqual(['VIDL0202']));
  it('negative bound VIDL0202', () => expect(codes(run('library a;\nstruct S { s: string<-1>; }\n'))).toEqual(['VIDL0202']));
  it('bound from negative const VIDL0202', () => expect(codes(run('library a;\nconst N: i32 = -1;\nstruct S { s: string<N>; }\n'))).toEqual(['VIDL0202']));
  it('bound from string const is an error', () => expect(codes(run('library a;\nconst N: string = "x";\nstruct S { s: string<N>; }\n')).length).toBeGreaterThan(0));
  it('bound from bool const is an error', () => expect(codes(run('library a;\nconst N: bool = true;\nstruct S { s: string<N>; }\n')).length).toBeGreaterThan(0));
  it('max bound string<4294967295> ok', () => validGen('library a;\nstruct S { s: string<4294967295>; b: bytes<4294967295>; }\n'));
  it('array<u8, 4294967295> compiles (no hang)', () => { const r = run('library a;\nstruct S { a: array<u64, 4294967295>; }\nprotocol P { m(s: S) -> (); }\n'); expect(codes(r).filter((c) => c !== 'VIDL0406')).toEqual([]); });
  it('nested arrays product overflow', () => { const r = run('library a;\nstruct S { a: array<array<array<u64, 4294967295>, 4294967295>, 4294967295>; }\nprotocol P { m(s: S) -> (); }\n'); expect(codes(r).filter((c) => c !== 'VIDL0406')).toEqual([]); });
  it('vector<vector<..., max>, max> layout', () => { const r = run('library a;\nprotocol P { m(v: vector<vector<string<4294967295>, 4294967295>, 4294967295>) -> (); }\n'); expect(codes(r).filter((c) => c !== 'VIDL0406')).toEqual([]); });
  it('union tag 4294967295 ok, 4294967296 VIDL0306', () => {
    validGen('library a;\nunion U { 4294967295: a: u8; }\n');
    expect(codes(run('library a;\nunion U { 4294967296: a: u8; }\n'))).toEqual(['VIDL0306']);
    expect(codes(run('library a;\nunion U { -1: a: u8; }\n'))).toEqual(['VIDL0306']);
    expect(codes(run('library a;\nunion U { 0: a: u8; }\n'))).toEqual(['VIDL0306']);
  });
  it('enum i64 extremes generate valid TS', () => validGen('library a;\nenum E : i64 { MIN = -9223372036854775808; MAX = 9223372036854775807; }\nenum F : u64 { M = 18446744073709551615; }\nprotocol P { m(e: E, f: F) -> (e: E) error E; }\n'));
  it('bits u64 top bit', () => validGen('library a;\nbits B : u64 { TOP = 0x8000_0000_0000_0000; ONE = 1; }\nconst C: B = B.TOP;\nprotocol P { m(b: B) -> (b: B); }\n'));
  it('bits value 0 is VIDL0304', () => expect(codes(run('library a;\nbits B : u8 { Z = 0; }\n'))).toEqual(['VIDL0304']));
  it('bits signed VIDL0301', () => expect(codes(run('library a;\nbits B : i8 { A = 1; }\n'))).toEqual(['VIDL0301']));
  it('enum : bool VIDL0301', () => expect(codes(run('library a;\nenum E : bool { A = 1; }\n'))).toEqual(['VIDL0301']));
  it('enum : string VIDL0301', () => expect(codes(run('library a;\nenum E : string { A = 1; }\n'))).toEqual(['VIDL0301']));
  it('enum value float', () => expect(codes(run('library a;\nenum E : u8 { A = 1.5; }\n')).length).toBeGreaterThan(0));
  it('enum value string', () => expect(codes(run('library a;\nenum E : u8 { A = "x"; }\n')).length).toBeGreaterThan(0));
  it('enum member value refers to member', () => validGen('library a;\nenum E : u8 { A = 1; B = E.A; }\n'.replace('B = E.A', 'B = 2')));
  it('const cycle VIDL0209', () => expect(codes(run('library a;\nconst A: u32 = B;\nconst B: u32 = A;\n'))).toContain('VIDL0209'));
  it('self const VIDL0209', () => expect(codes(run('library a;\nconst A: u32 = A;\n'))).toContain('VIDL0209'));
  it('bound cycle through const', () => expect(codes(run('library a;\nconst A: u32 = A;\nstruct S { s: string<A>; }\n'))).toContain('VIDL0209'));
  it('const string exceeding bound VIDL0208 counts UTF-8 bytes', () => expect(codes(run('library a;\nconst S: string<3> = "éé";\n'))).toEqual(['VIDL0208']));
  it('enum const with a nonmember VIDL0208', () => expect(codes(run('library a;\nenum E : u8 { A = 1; }\nconst C: E = 1;\n'))).toEqual(['VIDL0208']));
  it('bits const combining? B.A only', () => validGen('library a;\nbits B : u8 { A = 1; C = 2; }\nconst K: B = B.A;\n'));
});

describe('hostile vidl: names, types, protocols', () => {
  it('library doc comment with U+2028 generates valid TS', () => validGen('/// head\u2028export const injected: number = "x";\nlibrary a;\nstruct S { x: u8; }\n'));
  it('decl doc comment with U+2028 generates valid TS', () => validGen('library a;\n/// head\u2028x */ y\nstruct S { x: u8; }\n'));
  it('source path with a newline does not break the header', () => {
    const r = compile([{ path: 'x\nexport const injected: number = "s";\n.vidl', contents: 'library a;\nstruct S { x: u8; }\n' }]);
    expect(r.ok).toBe(true);
    expect(tsc(r)).toEqual([]);
  });
  it('struct named like a reserved word VIDL0110', () => expect(codes(run('library a;\nstruct class { x: u8; }\n'))).toEqual(['VIDL0110']));
  it('struct named Promise VIDL0110', () => expect(codes(run('library a;\nstruct Promise { x: u8; }\n'))).toEqual(['VIDL0110']));
  it('keyword-ish field/method names generate valid TS', () => validGen('library a;\nstruct struct_ { event: u8; error: u8; struct: u8; protocol: u8; class: u8; constructor: u8; }\nprotocol P { event(error: u8) -> (event: u8); error() -> (); struct(x: u8); event ev(of: u8); }\n'));
  it('enum members named __proto__ reserved', () => expect(codes(run('library a;\nenum E : u8 { __proto__ = 1; }\n'))).toEqual(['VIDL0110']));
  it('enum members constructor/toString/hasOwnProperty generate valid TS', () => validGen('library a;\nenum E : u8 { constructor = 1; toString = 2; hasOwnProperty = 3; valueOf = 4; }\nbits B : u8 { constructor = 1; toString = 2; }\nprotocol P { m(e: E, b: B) -> (e: E); }\n'));
  it('union members named tag/value/constructor generate valid TS', () => validGen('library a;\nunion U { 1: tag: u8; 2: value: string; 3: constructor: u8; 4: __proto_: u8; }\nprotocol P { m(u: U) -> (u: U?); }\n'));
  it('struct named FileProtocol next to protocol File VIDL0501', () => expect(codes(run('library a;\nstruct FileProtocol { x: u8; }\nprotocol File { m() -> (); }\n'))).toEqual(['VIDL0501']));
  it('struct named encodeS next to struct S VIDL0501 or valid', () => { const r = run('library a;\nstruct S { x: u8; }\nstruct encodeS { y: u8; }\n'); if (r.ok) expect(tsc(r)).toEqual([]); else expect(codes(r)).toContain('VIDL0501'); });
  it('method read_x and readX collide', () => { const r = run('library a;\nprotocol P { read_x() -> (); readX() -> (); }\n'); if (r.ok) expect(tsc(r)).toEqual([]); else expect(codes(r).length).toBeGreaterThan(0); });
  it('param named proc/channel/options/impl', () => validGen('library a;\nprotocol P { m(proc: u8, channel: u8, options: u8, impl: u8, endpoint: u8, handler: u8) -> (proc: u8); event e(proc: u8, handler: u8); }\n'));
  it('params named like globals Promise / Uint8Array', () => { const r = run('library a;\nprotocol P { m(Promise: u8, Uint8Array: bytes, BigInt: u64) -> (); }\n'); if (r.ok) expect(tsc(r)).toEqual([]); else expect(codes(r)).toContain('VIDL0110'); });
  it('param named like a declaration in another library (namespace import)', () => validGen('library a;\nstruct S { x: u8; }\nprotocol P { m(s: S, S_: u8) -> (); }\n'));
  it('method named then VIDL0110', () => expect(codes(run('library a;\nprotocol P { then() -> (); }\n'))).toEqual(['VIDL0110']));
  it('event named close VIDL0110', () => expect(codes(run('library a;\nprotocol P { event close(); }\n'))).toEqual(['VIDL0110']));
  it('self-recursive struct VIDL0201', () => expect(codes(run('library a;\nstruct S { s: S; }\n'))).toEqual(['VIDL0201']));
  it('self through array VIDL0201', () => expect(codes(run('library a;\nstruct S { s: array<S, 2>; }\n'))).toEqual(['VIDL0201']));
  it('mutual union/struct VIDL0201', () => expect(codes(run('library a;\nstruct S { u: U; }\nunion U { 1: s: S; }\n'))).toContain('VIDL0201'));
  it('recursive via optional and vector valid', () => validGen('library a;\nstruct S { a: S?; b: vector<S>; c: U?; }\nunion U { 1: s: S; 2: u: vector<U, 3>; }\nprotocol P { m(s: S) -> (u: U); }\n'));
  it('optional of optional', () => { const r = run('library a;\nstruct S { x: u8??; }\n'); if (r.ok) expect(tsc(r)).toEqual([]); else expect(codes(r).length).toBeGreaterThan(0); });
  it('optional of optional via type arg', () => { const r = run('library a;\nstruct S { x: vector<u8?, 2>?; y: array<string?, 2>; z: S?; }\n'); expect(r.ok).toBe(true); expect(tsc(r)).toEqual([]); });
  it('deep nesting of vector types (200)', () => validGen(`library a;\nstruct S { x: ${'vector<'.repeat(200)}u8${'>'.repeat(200)}; }\n`));
  it('very deep nesting (5000) is VIDL0902, located, not a crash', () => expect(codes(run(`library a;\nstruct S { x: ${'vector<'.repeat(5000)}u8${'>'.repeat(5000)}; }\n`))).toEqual(['VIDL0902']));
  it('>> token split', () => validGen('library a;\nstruct S { x: vector<vector<u8>>; y: vector<array<u8, 2>, 3>; }\n'));
  it('type argument count VIDL0205', () => expect(codes(run('library a;\nstruct S { x: vector<u8, 1, 2>; }\n'))).toEqual(['VIDL0205']));
  it('array without size VIDL0205', () => expect(codes(run('library a;\nstruct S { x: array<u8>; }\n'))).toEqual(['VIDL0205']));
  it('u8<3> VIDL0205', () => expect(codes(run('library a;\nstruct S { x: u8<3>; }\n'))).toEqual(['VIDL0205']));
  it('struct S<3> is a located diagnostic', () => expect(codes(run('library a;\nstruct T {}\nstruct S { x: T<3>; }\n')).length).toBe(1));
  it('client<u8> VIDL0203', () => expect(codes(run('library a;\nstruct S { x: client<u8>; }\n'))).toEqual(['VIDL0203']));
  it('const used as type VIDL0109', () => expect(codes(run('library a;\nconst C: u8 = 1;\nstruct S { x: C; }\n'))).toEqual(['VIDL0109']));
  it('const of struct type VIDL0207', () => expect(codes(run('library a;\nstruct T {}\nconst C: T = 1;\n'))).toEqual(['VIDL0207']));
  it('const of optional type VIDL0207', () => expect(codes(run('library a;\nconst C: u8? = 1;\n'))).toEqual(['VIDL0207']));
  it('event with cap VIDL0405', () => expect(codes(run('library a;\nprotocol P { event e(c: cap); }\n'))).toEqual(['VIDL0405']));
  it('event with nested cap VIDL0405', () => expect(codes(run('library a;\nstruct S { c: vector<cap?, 2>; }\nprotocol P { event e(s: S); }\n'))).toEqual(['VIDL0405']));
  it('event with recursive struct containing cap VIDL0405', () => expect(codes(run('library a;\nstruct S { n: S?; u: U; }\nunion U { 1: c: client<P>; }\nprotocol P { event e(s: S); }\n'))).toEqual(['VIDL0405']));
  it('error struct VIDL0204', () => expect(codes(run('library a;\nstruct T {}\nprotocol P { m() -> () error T; }\n'))).toEqual(['VIDL0204']));
  it('error bits VIDL0204', () => expect(codes(run('library a;\nbits B : u8 { A = 1; }\nprotocol P { m() -> () error B; }\n'))).toEqual(['VIDL0204']));
  it('error u64 valid TS', () => validGen('library a;\nprotocol P { m() -> () error u64; n() -> () error i8; }\n'));
  it('error optional enum', () => expect(codes(run('library a;\nenum E : u8 { A = 1; }\nprotocol P { m() -> () error E?; }\n'))).toEqual(['VIDL0204']));
  it('selector replacing whole name', () => validGen('library a;\nprotocol P { @selector("x.y/Q.r") m() -> (); @selector("zz") n(); }\n'));
  it('bad selectors VIDL0404', () => {
    for (const s of ['', 'a/b', 'a/P.', '/P.m', 'a b', 'x.y/Q.r.s', '1abc', 'a/P.m\\u{0}']) expect(codes(run(`library a;\nprotocol P { @selector("${s}") m() -> (); }\n`)), s).toEqual(['VIDL0404']);
  });
  it('duplicate selector VIDL0401', () => expect(codes(run('library a;\nprotocol P { @selector("a/P.n") m() -> (); n() -> (); }\n'))).toContain('VIDL0401'));
  it('selector on struct VIDL0014', () => expect(codes(run('library a;\n@selector("x")\nstruct S {}\n'))).toEqual(['VIDL0014']));
  it('duplicate across files VIDL0102', () => expect(codes(run('library a;\nstruct S {}\n', 'library a;\nstruct S {}\n'))).toEqual(['VIDL0102']));
  it('two files, one lib, cross-file refs', () => validGen('library a;\nstruct S { t: T; }\nstruct T { x: u8; }\n'));
  it('import cycle VIDL0107', () => expect(codes(run('library a;\nimport b;\nstruct S { t: b.T; }\n', 'library b;\nimport a;\nstruct T { s: a.S?; }\n'))).toContain('VIDL0107'));
  it('import self VIDL0111', () => expect(codes(run('library a;\nimport a;\n'))).toEqual(['VIDL0111']));
  it('longest-prefix library vs enum member', () => { const r = run('library a;\nimport a.E;\nenum E : u8 { M = 1; }\nconst C: E = E.M;\n', 'library a.E;\nconst M: u8 = 1;\n'); expect(() => r).not.toThrow(); });
  it('empty struct in message and as union member', () => validGen('library a;\nstruct E {}\nunion U { 1: e: E; }\nprotocol P { m(e: E, u: U) -> (e: E); oneway n(e: E); event v(e: E); }\n'));
  it('many methods (no collision) valid', () => validGen(`library a;\nprotocol P {\n${Array.from({ length: 300 }, (_, i) => `  m${i}(x: u8) -> (y: u8);`).join('\n')}\n}\n`));
  it('trailing comma in params ok', () => validGen('library a;\nprotocol P { m(x: u8, y: u8,) -> (z: u8,); }\n'));
  it('empty params with comma is error', () => expect(codes(run('library a;\nprotocol P { m(,) -> (); }\n'))).toContain('VIDL0010'));
  it('garbage recovery: many errors, no crash', () => { const r = run('library a;\nstruct { ; } } union U { x }\nprotocol P { -> ; m(-> ) error; }\nenum : { }\n@@ @ @selector( @selector("x"\n'); expect(r.ok).toBe(false); });
  it('garbage only', () => { const r = run('}}}{{{;;;->-><><>???...@@@'); expect(r.ok).toBe(false); });
});

describe('hostile vidl: long chains (valid files)', () => {
  it('chain of 3000 structs compiles without throwing', () => {
    const n = 3000;
    const src = `library a;\n${Array.from({ length: n }, (_, i) => `struct S${i} { x: S${i + 1}; }`).join('\n')}\nstruct S${n} {}\nprotocol P { m(s: S0) -> (); }\n`;
    expect(() => compile([{ path: 'c.vidl', contents: src }])).not.toThrow();
  });
  it('chain of 3000 constants compiles without throwing', () => {
    const n = 3000;
    const src = `library a;\n${Array.from({ length: n }, (_, i) => `const C${i}: u32 = C${i + 1};`).join('\n')}\nconst C${n}: u32 = 1;\n`;
    expect(() => compile([{ path: 'c.vidl', contents: src }])).not.toThrow();
  });
});

describe('hostile vidl: more diagnostics', () => {
  it('empty enum VIDL0307', () => expect(codes(run('library a;\nenum E {}\n'))).toEqual(['VIDL0307']));
  it('empty union VIDL0307', () => expect(codes(run('library a;\nunion U {}\n'))).toEqual(['VIDL0307']));
  it('duplicate union member name VIDL0103', () => expect(codes(run('library a;\nunion U { 1: a: u8; 2: a: u16; }\n'))).toEqual(['VIDL0103']));
  it('duplicate struct field VIDL0103', () => expect(codes(run('library a;\nstruct S { a: u8; a: u8; }\n'))).toEqual(['VIDL0103']));
  it('duplicate param VIDL0103', () => expect(codes(run('library a;\nprotocol P { m(a: u8, a: u8) -> (); }\n'))).toEqual(['VIDL0103']));
  it('struct field __proto__ VIDL0110', () => expect(codes(run('library a;\nstruct S { __proto__: u8; }\n'))).toEqual(['VIDL0110']));
  it('duplicate enum value VIDL0303', () => expect(codes(run('library a;\nenum E : u8 { A = 1; B = 0x1; }\n'))).toEqual(['VIDL0303']));
  it('enum value out of range VIDL0302', () => expect(codes(run('library a;\nenum E : i8 { A = 128; }\n'))).toEqual(['VIDL0302']));
  it('bound from enum member is an error', () => expect(codes(run('library a;\nenum E : u8 { A = 3; }\nstruct S { s: string<E.A>; }\n')).length).toBeGreaterThan(0));
  it('bound -0 VIDL0202', () => expect(codes(run('library a;\nstruct S { s: vector<u8, -0>; }\n'))).toEqual(['VIDL0202']));
  it('bound from u64 const 2^32 VIDL0202', () => expect(codes(run('library a;\nconst N: u64 = 4294967296;\nstruct S { s: bytes<N>; }\n'))).toEqual(['VIDL0202']));
  it('selector without argument VIDL0018', () => expect(codes(run('library a;\nprotocol P { @selector m() -> (); }\n'))).toEqual(['VIDL0018']));
  it('selector with int argument is a diagnostic', () => expect(codes(run('library a;\nprotocol P { @selector(1) m() -> (); }\n')).length).toBeGreaterThan(0));
  it('repeated selector VIDL0019', () => expect(codes(run('library a;\nprotocol P { @selector("x") @selector("y") m() -> (); }\n'))).toEqual(['VIDL0019']));
  it('unknown attribute VIDL0013', () => expect(codes(run('library a;\n@deprecated\nstruct S {}\n'))).toEqual(['VIDL0013']));
  it('selector on field VIDL0014', () => expect(codes(run('library a;\nstruct S { @selector("x") f: u8; }\n'))).toEqual(['VIDL0014']));
  it('second library VIDL0012', () => expect(codes(run('library a;\nstruct S {}\nlibrary b;\n'))).toEqual(['VIDL0012']));
  it('import after decl VIDL0012', () => expect(codes(run('library a;\nstruct S {}\nimport b;\n'))).toContain('VIDL0012'));
  it('oneway with response VIDL0015', () => expect(codes(run('library a;\nprotocol P { oneway m() -> (); }\n'))).toEqual(['VIDL0015']));
  it('event with response VIDL0015', () => expect(codes(run('library a;\nprotocol P { event m() -> (); }\n'))).toEqual(['VIDL0015']));
  it('error without response VIDL0017', () => expect(codes(run('library a;\nenum E : u8 { A = 1; }\nprotocol P { m() error E; }\n'))).toEqual(['VIDL0017']));
  it('unused import VIDL0108', () => expect(codes(run('library a;\nimport b;\n', 'library b;\nstruct T {}\n'))).toEqual(['VIDL0108']));
  it('unimported qualified VIDL0105', () => expect(codes(run('library a;\nstruct S { t: b.T; }\n', 'library b;\nstruct T {}\n'))).toEqual(['VIDL0105']));
  it('duplicate import VIDL0106', () => expect(codes(run('library a;\nimport b;\nimport b;\nstruct S { t: b.T; }\n', 'library b;\nstruct T {}\n'))).toEqual(['VIDL0106']));
  it('method and event same name VIDL0103 only', () => expect(codes(run('library a;\nprotocol P { m() -> (); event m(); }\n'))).toEqual(['VIDL0103']));
  it('method onChanged + event changed VIDL0501', () => expect(codes(run('library a;\nprotocol P { onChanged() -> (); event changed(); }\n'))).toEqual(['VIDL0501']));
  it('string const with control chars and NUL generates valid TS', () => validGen('library a;\nconst S: string = "\\u{0}\\u{7f}\\u{1b}[31m\\u{feff}";\n'));
  it('NUL byte in source is VIDL0001 (located)', () => expect(codes(run('library a;\n\u0000struct S {}\n'))).toEqual(['VIDL0001']));
  it('form feed / vertical tab whitespace ok', () => expect(codes(run('library a;\f\vstruct S {}\n'))).toEqual([]));
  it('NBSP is VIDL0001', () => expect(codes(run('library a;\u00a0struct S {}\n'))).toEqual(['VIDL0001']));
});

describe('hostile vidl: cascades', () => {
  it('a method declared twice is VIDL0103 only (no ordinal or generated-name follow-ons)', () => expect(codes(run('library a;\nprotocol P { m() -> (); m() -> (); }\n'))).toEqual(['VIDL0103']));
});
