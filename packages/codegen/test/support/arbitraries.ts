import fc from 'fast-check';
import { INTEGER_TYPES, type FieldModel, type Type } from '../../src/model.ts';

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/**
 * Random values of a VIDL type, shaped as the generated TypeScript expects them. Recursion
 * (optionals and vectors of the type itself) stops at `depth`, and collections stay short
 * so properties run fast.
 */
export function valueOf(type: Type, depth = 0): fc.Arbitrary<unknown> {
  switch (type.kind) {
    case 'primitive':
      if (type.name === 'bool') return fc.boolean();
      if (type.name === 'f32') return fc.float();
      if (type.name === 'f64') return fc.double();
      if (type.name === 'u64' || type.name === 'i64') return fc.bigInt({ min: INTEGER_TYPES[type.name].min, max: INTEGER_TYPES[type.name].max });
      return fc.integer({ min: Number(INTEGER_TYPES[type.name].min), max: Number(INTEGER_TYPES[type.name].max) });
    case 'string': {
      const max = type.max ?? 24;
      return fc.string({ unit: 'grapheme', maxLength: max }).filter((s) => utf8Length(s) <= max);
    }
    case 'bytes':
      return fc.uint8Array({ maxLength: Math.min(type.max ?? 24, 40) });
    case 'vector':
      return fc.array(valueOf(type.element, depth + 1), { maxLength: depth > 2 ? 0 : Math.min(type.max ?? 4, 4) });
    case 'array':
      return fc.array(valueOf(type.element, depth + 1), { minLength: type.length, maxLength: type.length });
    case 'optional':
      return depth > 2 ? fc.constant(undefined) : fc.option(valueOf(type.inner, depth + 1), { nil: undefined });
    case 'capability':
      return fc.nat(5000);
    case 'named': {
      const decl = type.decl;
      switch (decl.kind) {
        case 'enum': {
          const wide = decl.underlying === 'u64' || decl.underlying === 'i64';
          return fc.constantFrom(...decl.members.map((m) => (wide ? m.value : Number(m.value))));
        }
        case 'bits': {
          const wide = decl.underlying === 'u64';
          return fc.subarray(decl.members.map((m) => m.value)).map((bits) => {
            const v = bits.reduce((a, b) => a | b, 0n);
            return wide ? v : Number(v);
          });
        }
        case 'struct':
          return fields(decl.fields, depth + 1);
        case 'union':
          return fc.oneof(...decl.members.map((m) => valueOf(m.type, depth + 1).map((value) => ({ tag: m.name, value }))));
      }
    }
    // falls through: an unresolved type never reaches a checked program
    case 'error':
      return fc.constant(undefined);
  }
}

/** A random message body or struct value. */
export function fields(list: readonly FieldModel[], depth = 0): fc.Arbitrary<Record<string, unknown>> {
  const shape: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of list) shape[f.name] = valueOf(f.type, depth);
  return fc.record(shape);
}
