import { resolve } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compile, generate } from '../src/compiler.ts';
import { PACKAGE_ROOT } from './support/compile-files.ts';
import { typecheck } from './support/typecheck.ts';

/** Member names that are fine in VIDL but awkward in TypeScript (keywords as properties, `new`, …). */
const MEMBER_NAMES = ['a', 'b', 'value', 'class', 'default', 'new', 'delete', 'in', 'get', 'set', 'type', 'constructor_', 'x_y', 'Data'];
const PARAM_NAMES = ['a', 'b', 'value', 'get', 'set', 'type', 'of', 'as', 'from', 'async', 'handler', 'proc', 'impl', 'options'];
const METHOD_NAMES = ['get', 'set', 'new', 'delete', 'in', 'of', 'read', 'write_all', 'on', 'close2'];

/** A random but valid library: every declaration kind, every type constructor, keyword-ish names. */
const library = fc
  .record({
    enumType: fc.constantFrom('u8', 'i16', 'u32', 'i64', 'u64'),
    bitsType: fc.constantFrom('u8', 'u16', 'u32', 'u64'),
    fieldTypes: fc.array(
      fc.constantFrom('bool', 'u8', 'i64', 'f32', 'f64', 'string<8>', 'bytes', 'vector<Item, 3>', 'array<E, 2>', 'B', 'Item?', 'U', 'cap', 'client<P>?', 'server<P>', 'vector<string<4>?>', 'u64?'),
      { minLength: 1, maxLength: 5 },
    ),
    methods: fc.uniqueArray(fc.record({ name: fc.constantFrom(...METHOD_NAMES), kind: fc.constantFrom('two', 'one', 'event', 'err', 'empty'), params: fc.uniqueArray(fc.constantFrom(...PARAM_NAMES), { maxLength: 3 }) }), {
      minLength: 1,
      maxLength: 6,
      selector: (m) => m.name,
    }),
  })
  .map(({ enumType, bitsType, fieldTypes, methods }, ) => {
    const fields = fieldTypes.map((t, i) => `  ${MEMBER_NAMES[i % MEMBER_NAMES.length]}: ${t};`).join('\n');
    const protocol = methods
      .map((m) => {
        const params = m.params.map((p, i) => `${p}: ${['u32', 'string<4>', 'Item', 'E', 'B'][i]}`).join(', ');
        switch (m.kind) {
          case 'two':
            return `  ${m.name}(${params}) -> (out: Item, n: u64);`;
          case 'one':
            return `  oneway ${m.name}(${params});`;
          case 'event':
            return `  event ${m.name}(${params});`;
          case 'err':
            return `  ${m.name}(${params}) -> (r: U) error E;`;
          default:
            return `  ${m.name}(${params}) -> ();`;
        }
      })
      .join('\n');
    return [
      'library rnd;',
      'const N: u32 = 3;',
      `enum E : ${enumType} { default = 1; new = 2; }`,
      `bits B : ${bitsType} { ONE = 1; TWO = 2; }`,
      'struct Empty {}',
      'struct Item { id: u64; next: Item?; name: string<N>; }',
      'union U { 1: class: Item; 2: default: Empty; 9: text: string<5>?; }',
      `struct Holder {\n${fields}\n}`,
      `protocol P {\n${protocol}\n}`,
    ].join('\n');
  });

describe('generated code type-checks for random valid libraries', () => {
  it('30 random libraries compile, generate and pass tsc --strict', () => {
    const sources = fc.sample(library, { numRuns: 30, seed: 20_240_607 });
    const virtual = new Map<string, string>();
    sources.forEach((text, i) => {
      const result = compile([{ path: `rnd${i}.vidl`, contents: text }]);
      expect(result.diagnostics, text).toEqual([]);
      const [module] = generate(result);
      virtual.set(resolve(PACKAGE_ROOT, `test/.virtual/rnd${i}.ts`), module!.text);
    });
    expect(typecheck([...virtual.keys()], { exactOptionalPropertyTypes: true, noUnusedLocals: true, noUnusedParameters: true }, virtual)).toEqual([]);
  });
});
