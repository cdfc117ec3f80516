import { describe, expect, it } from 'vitest';
import { cycleRoute } from '../src/check-cycles.ts';
import { compile } from '../src/compiler.ts';

const run = (src: string) => compile([{ path: 'c.vidl', contents: src }]);
const ring = (n: number) => Array.from({ length: n }, (_, i) => `struct S${i} { x: S${(i + 1) % n}; }`).join('\n');

/** VIDL0201 on long cycles: located at the entry, the middle of the route elided. */
describe('VIDL0201 routes', () => {
  it('lists every step of a cycle of up to 7 steps', () => {
    const r = run(`library a;\n${ring(7)}\n`);
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      'struct S0 contains itself (S0.x → S1.x → S2.x → S3.x → S4.x → S5.x → S6.x → S0); make a member optional (T?) or a vector to break the cycle',
    ]);
  });

  it('elides the middle of a longer cycle, keeping its first and last three steps', () => {
    const r = run(`library a;\n${ring(8)}\n`);
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      'struct S0 contains itself (S0.x → S1.x → S2.x → … 2 more … → S5.x → S6.x → S7.x → S0); make a member optional (T?) or a vector to break the cycle',
    ]);
  });

  it('a ring of 20000 structs is one short, located report', () => {
    const r = run(`library a;\n${ring(20_000)}\n`);
    expect(r.diagnostics.map((d) => `${d.code} ${d.span.line}:${d.span.col} ${d.message}`)).toEqual([
      'VIDL0201 2:8 struct S0 contains itself (S0.x → S1.x → S2.x → … 19994 more … → S19997.x → S19998.x → S19999.x → S0); make a member optional (T?) or a vector to break the cycle',
    ]);
  });

  it('reports each of many long cycles once, each message of bounded length', () => {
    // S0 → S1 → … → S(n−1), and every Si also contains S0: n cycles, the longest n steps.
    const n = 20_000;
    const src = `library a;\n${Array.from({ length: n }, (_, i) => `struct S${i} { back: S0;${i + 1 < n ? ` x: S${i + 1};` : ''} }`).join('\n')}\n`;
    const r = run(src);
    expect(r.diagnostics).toHaveLength(n);
    expect(new Set(r.diagnostics.map((d) => `${d.code} ${d.span.line}:${d.span.col}`))).toEqual(new Set(['VIDL0201 2:8']));
    expect(Math.max(...r.diagnostics.map((d) => d.message.length))).toBeLessThan(200);
    expect(r.diagnostics.map((d) => d.message)).toContain(
      'struct S0 contains itself (S0.x → S1.x → S2.x → … 19994 more … → S19997.x → S19998.x → S19999.back → S0); make a member optional (T?) or a vector to break the cycle',
    );
  });

  it('two members closing the same cycle report it once', () => {
    const r = run('library a;\nstruct A { b: B; }\nstruct B { a1: A; a2: array<A, 2>; }\n');
    expect(r.diagnostics.map((d) => d.message)).toEqual(['struct A contains itself (A.b → B.a1 → A); make a member optional (T?) or a vector to break the cycle']);
  });

  it('cycleRoute shows short routes whole and long ones around the count of the rest', () => {
    const step = (i: number) => `T${i}.m`;
    expect(cycleRoute(1, step, 'T0')).toBe('T0.m → T0');
    expect(cycleRoute(7, step, 'T0')).toBe('T0.m → T1.m → T2.m → T3.m → T4.m → T5.m → T6.m → T0');
    expect(cycleRoute(1000, step, 'T0')).toBe('T0.m → T1.m → T2.m → … 994 more … → T997.m → T998.m → T999.m → T0');
  });
});

/** A constant of an enum or bits whose members are still being evaluated further up is a cycle, not a non-member. */
describe('constants of an enum still being evaluated', () => {
  const at = (src: string) => run(src).diagnostics.map((d) => `${d.code} ${d.span.line}:${d.span.col} ${d.message}`);

  it('an enum member reaching a constant of its own enum is VIDL0209 on that constant, not "not one of its members"', () => {
    expect(at('library a;\nenum E : u8 { A = C; B = 2; L = G.Z; Q = 7; }\nconst C: E = E.B;\nenum G : u8 { Z = K; }\nconst K: E = E.Q;\n')).toEqual([
      'VIDL0209 2:19 constant E.A is defined in terms of itself',
      'VIDL0209 5:14 constant K is defined in terms of itself',
    ]);
    expect(at('library a;\nenum E : u8 { A = C; B = 2; L = K; Q = 7; }\nconst C: E = E.B;\nconst K: E = E.Q;\n')).toEqual([
      'VIDL0209 2:19 constant E.A is defined in terms of itself',
      'VIDL0209 4:14 constant K is defined in terms of itself',
    ]);
  });

  it('the same for bits, whose mask is partial until its members are done', () => {
    expect(at('library a;\nbits E : u8 { A = C; B = 2; L = G.Z; Q = 8; }\nconst C: E = E.B;\nenum G : u8 { Z = K; }\nconst K: E = E.Q;\n')).toEqual([
      'VIDL0209 2:19 constant E.A is defined in terms of itself',
      'VIDL0209 5:14 constant K is defined in terms of itself',
    ]);
  });

  it('without the cycle the constant and the member that uses it are fine', () => {
    const r = run('library a;\nenum E : u8 { B = 2; Q = 7; }\nconst K: E = E.Q;\nenum G : u8 { Z = K; }\n');
    expect(r.diagnostics).toEqual([]);
    expect(r.program.libraries[0]!.declarations.find((d) => d.name === 'G')).toMatchObject({ members: [{ name: 'Z', value: 7n }] });
  });
});
