/**
 * TypeScript text for VIDL types: the type itself, and the expressions that encode and
 * decode a value of it with the wire runtime (`$w` is the writer, `$r` the reader in scope;
 * `$`-names cannot clash with VIDL names, which have no `$`).
 */
import type { Type } from '../model.js';
import { MAX_BOUND } from '../resolve-types.js';
import type { ModuleContext } from './context.js';
import { decoderName, encoderName } from './names.js';

/** The TypeScript type of a VIDL type. */
export function tsType(type: Type, ctx: ModuleContext): string {
  switch (type.kind) {
    case 'primitive':
      if (type.name === 'bool') return 'boolean';
      return type.name === 'u64' || type.name === 'i64' ? 'bigint' : 'number';
    case 'string':
      return 'string';
    case 'bytes':
      return 'Uint8Array';
    case 'vector':
    case 'array': {
      const element = tsType(type.element, ctx);
      return /^[\w$.]+$/.test(element) ? `${element}[]` : `Array<${element}>`;
    }
    case 'optional':
      return `${tsType(type.inner, ctx)} | undefined`;
    case 'named':
      return ctx.typeReference(type.decl);
    case 'capability':
      return ctx.runtimeType('CapHandle');
    case 'error':
      throw new Error('internal: an unresolved type reached emission');
  }
}

/** `name: T` or, for an optional type, `name?: T` (a property of a struct or message body). */
export function propertySignature(name: string, type: Type, ctx: ModuleContext): { name: string; type: string; hasQuestionToken: boolean } {
  // `?: T | undefined` holds under exactOptionalPropertyTypes too, since decoders produce `undefined`.
  if (type.kind === 'optional') return { name, type: `${tsType(type.inner, ctx)} | undefined`, hasQuestionToken: true };
  return { name, type: tsType(type, ctx), hasQuestionToken: false };
}

/** An expression that writes `value` (a TypeScript expression) of `type` with `$w`. */
export function encodeExpression(type: Type, value: string, ctx: ModuleContext): string {
  switch (type.kind) {
    case 'primitive':
      return `$w.${type.name}(${value})`;
    case 'string':
    case 'bytes':
      return type.max === undefined ? `$w.${type.kind}(${value})` : `$w.${type.kind}(${value}, ${type.max})`;
    case 'vector':
      return `$w.vector(${value}, ${type.max ?? MAX_BOUND}, ${ctx.alignments.of(type)}, ($e) => ${encodeExpression(type.element, '$e', ctx)})`;
    case 'array':
      return `$w.array(${value}, ${type.length}, ($e) => ${encodeExpression(type.element, '$e', ctx)})`;
    case 'optional':
      return `$w.optional(${value}, ${ctx.alignments.of(type.inner)}, ($e) => ${encodeExpression(type.inner, '$e', ctx)})`;
    case 'named':
      return `${ctx.reference(type.decl.library, encoderName(type.decl.name))}($w, ${value})`;
    case 'capability':
      return `$w.cap(${value})`;
    case 'error':
      throw new Error('internal: an unresolved type reached emission');
  }
}

/** An expression that reads a value of `type` with `$r`. */
export function decodeExpression(type: Type, ctx: ModuleContext): string {
  switch (type.kind) {
    case 'primitive':
      return `$r.${type.name}()`;
    case 'string':
    case 'bytes':
      return type.max === undefined ? `$r.${type.kind}()` : `$r.${type.kind}(${type.max})`;
    case 'vector':
      return `$r.vector(${type.max ?? MAX_BOUND}, ${ctx.alignments.of(type)}, () => ${decodeExpression(type.element, ctx)})`;
    case 'array':
      return `$r.array(${type.length}, () => ${decodeExpression(type.element, ctx)})`;
    case 'optional':
      return `$r.optional(${ctx.alignments.of(type.inner)}, () => ${decodeExpression(type.inner, ctx)})`;
    case 'named':
      return `${ctx.reference(type.decl.library, decoderName(type.decl.name))}($r)`;
    case 'capability':
      return '$r.cap()';
    case 'error':
      throw new Error('internal: an unresolved type reached emission');
  }
}

/** JSDoc text from VIDL doc lines (`*\/` is broken up so a doc comment cannot end the JSDoc early). */
export function docText(lines: readonly string[], ...extra: string[]): string | undefined {
  const added = extra.filter((e) => e.length > 0);
  // A blank line keeps the author's text a paragraph of its own, apart from what vidl adds.
  const all = lines.length > 0 && added.length > 0 ? [...lines, '', ...added] : [...lines, ...added];
  if (all.length === 0) return undefined;
  return all.join('\n').replaceAll('*/', '*\\/');
}
