import type { ConstValue, TypeArgument, TypeExpression } from './ast.js';
import type { DiagnosticBag } from './diagnostics.js';
import { INTEGER_TYPES, type BitsModel, type ConstModel, type ConstantValue, type DeclarationModel, type EnumModel, type Type } from './model.js';
import type { DeclarationSymbol, FileScope, Resolution } from './scope.js';

/** Largest finite f32 (2^128 − 2^104). */
const F32_MAX = 3.4028234663852886e38;
import type { Span } from './source.js';

/** Largest bound a length prefix (u32) can express. */
export const MAX_BOUND = 0xffff_ffff;

const PRIMITIVES = new Set(['bool', 'u8', 'u16', 'u32', 'u64', 'i8', 'i16', 'i32', 'i64', 'f32', 'f64']);
/** The other built-in type names (IDL.md §4). */
const BUILT_IN_TYPES = new Set(['string', 'bytes', 'vector', 'array', 'cap', 'client', 'server']);

/** A human name for a declaration kind: "struct Stat", "protocol File". */
export function describeDeclaration(decl: DeclarationModel): string {
  return `${decl.kind} ${decl.name}`;
}

/** Text of a resolved type as VIDL writes it (for messages). */
export function typeToString(type: Type): string {
  switch (type.kind) {
    case 'primitive':
      return type.name;
    case 'string':
    case 'bytes':
      return type.max === undefined ? type.kind : `${type.kind}<${type.max}>`;
    case 'vector':
      return `vector<${typeToString(type.element)}${type.max === undefined ? '' : `, ${type.max}`}>`;
    case 'array':
      return `array<${typeToString(type.element)}, ${type.length}>`;
    case 'optional':
      return `${typeToString(type.inner)}?`;
    case 'named':
      return type.decl.name;
    case 'capability':
      return type.end === 'any' ? 'cap' : `${type.end}<${type.protocol?.name ?? '?'}>`;
    case 'error':
      return '<error>';
  }
}

/**
 * Resolves type expressions and evaluates constants for the checker. Reports every problem
 * (unknown names, wrong kinds, bad bounds, values that do not fit) and returns an `error`
 * type or `undefined` value in its place so checking goes on without cascades.
 */
export class TypeResolver {
  readonly #diagnostics: DiagnosticBag;
  readonly #scopeOf: (symbol: DeclarationSymbol) => FileScope;
  readonly #symbolOf: (model: ConstModel) => DeclarationSymbol;
  readonly #ensureMembers: (decl: EnumModel | BitsModel) => boolean;
  readonly #memberValue: (decl: EnumModel | BitsModel, member: string) => ConstantValue | undefined;
  readonly #isPending: (node: object) => boolean;
  readonly #state = new Map<ConstModel, 'resolving' | 'done'>();

  /**
   * `scopeOf` gives a declaration's file scope, `symbolOf` a constant's symbol, and
   * `ensureMembers` evaluates an enum's or bits' members on first use (values may refer to constants)
   * and says whether they are complete (not while they are still being evaluated further up),
   * `memberValue` one member's value (members may refer to members declared after them), and
   * `isPending` says whether a declaration or member is being evaluated further up: the checker
   * evaluates what a value needs first, so reaching a pending one means a cycle.
   */
  constructor(
    diagnostics: DiagnosticBag,
    scopeOf: (symbol: DeclarationSymbol) => FileScope,
    symbolOf: (model: ConstModel) => DeclarationSymbol,
    ensureMembers: (decl: EnumModel | BitsModel) => boolean,
    memberValue: (decl: EnumModel | BitsModel, member: string) => ConstantValue | undefined,
    isPending: (node: object) => boolean,
  ) {
    this.#memberValue = memberValue;
    this.#isPending = isPending;
    this.#diagnostics = diagnostics;
    this.#scopeOf = scopeOf;
    this.#symbolOf = symbolOf;
    this.#ensureMembers = ensureMembers;
  }

  /** Resolves a type expression in `scope`. */
  resolveType(expr: TypeExpression, scope: FileScope): Type {
    const inner = this.#resolveBase(expr, scope);
    return expr.optional && inner.kind !== 'error' ? { kind: 'optional', inner } : inner;
  }

  #resolveBase(expr: TypeExpression, scope: FileScope): Type {
    const name = expr.name.text;
    const builtin = expr.name.parts.length === 1 ? name : undefined;
    const argCount = (min: number, max: number, usage: string): boolean => {
      const n = expr.args.length;
      if ((min === 0 && !expr.hasArgs) || (n >= min && n <= max && (n > 0 || !expr.hasArgs))) return true;
      this.#diagnostics.report('VIDL0205', expr.span, { name, expected: usage });
      return false;
    };
    if (builtin !== undefined && PRIMITIVES.has(builtin)) {
      if (!argCount(0, 0, 'no type arguments')) return { kind: 'error' };
      return { kind: 'primitive', name: builtin as Extract<Type, { kind: 'primitive' }>['name'] };
    }
    switch (builtin) {
      case 'string':
      case 'bytes': {
        if (!argCount(0, 1, `at most one argument, its maximum length: ${builtin}<N> or ${builtin}`)) return { kind: 'error' };
        const max = expr.args[0] ? this.resolveSize(expr.args[0], scope, `the maximum length of ${builtin}`) : undefined;
        if (max === null) return { kind: 'error' };
        return { kind: builtin, max };
      }
      case 'vector': {
        if (!argCount(1, 2, 'an element type and an optional maximum count: vector<T, N> or vector<T>')) return { kind: 'error' };
        const element = this.#typeArgument(expr.args[0]!, scope);
        const max = expr.args[1] ? this.resolveSize(expr.args[1], scope, 'the maximum count of vector') : undefined;
        if (max === null || element.kind === 'error') return { kind: 'error' };
        return { kind: 'vector', element, max };
      }
      case 'array': {
        if (!argCount(2, 2, 'an element type and a length: array<T, N>')) return { kind: 'error' };
        const element = this.#typeArgument(expr.args[0]!, scope);
        const length = this.resolveSize(expr.args[1]!, scope, 'the length of array');
        if (length === null || length === undefined || element.kind === 'error') return { kind: 'error' };
        return { kind: 'array', element, length };
      }
      case 'client':
      case 'server': {
        if (!argCount(1, 1, `a protocol: ${builtin}<Protocol>`)) return { kind: 'error' };
        const arg = expr.args[0]!;
        if (arg.kind === 'IntegerLiteral' || arg.optional || arg.hasArgs) {
          this.#diagnostics.report('VIDL0203', arg.span, { builtin: builtin!, found: arg.kind === 'IntegerLiteral' ? 'a number' : 'a type expression' });
          return { kind: 'error' };
        }
        // A built-in type is not a protocol (and not an unknown name either).
        if (arg.name.parts.length === 1 && (PRIMITIVES.has(arg.name.text) || BUILT_IN_TYPES.has(arg.name.text))) {
          this.#diagnostics.report('VIDL0203', arg.span, { builtin: builtin!, found: `${arg.name.text}, a built-in type` });
          return { kind: 'error' };
        }
        const resolved = scope.resolve(arg.name, false);
        if (!resolved) return { kind: 'error' };
        const decl = resolved.symbol.model;
        if (resolved.kind !== 'declaration' || decl.kind !== 'protocol') {
          this.#diagnostics.report('VIDL0203', arg.span, { builtin: builtin!, found: `${arg.name.text}, a ${decl.kind}` });
          return { kind: 'error' };
        }
        return { kind: 'capability', end: builtin, protocol: decl };
      }
      case 'cap':
        if (!argCount(0, 0, 'no type arguments (write client<P> or server<P> for a typed channel)')) return { kind: 'error' };
        return { kind: 'capability', end: 'any', protocol: undefined };
    }
    const resolved = scope.resolve(expr.name, false);
    if (!resolved) return { kind: 'error' };
    const decl = resolved.symbol.model;
    if (decl.kind === 'const' || decl.kind === 'protocol') {
      const hint = decl.kind === 'protocol' ? `; a field carries a channel as client<${decl.name}> or server<${decl.name}>` : '';
      this.#diagnostics.report('VIDL0109', expr.name.span, { name: expr.name.text, kind: decl.kind, expected: 'type', hint });
      return { kind: 'error' };
    }
    if (expr.hasArgs) {
      this.#diagnostics.report('VIDL0205', expr.span, { name: `${decl.kind} ${decl.name}`, expected: 'no type arguments' });
      return { kind: 'error' };
    }
    return { kind: 'named', decl };
  }

  #typeArgument(arg: TypeArgument, scope: FileScope): Type {
    if (arg.kind === 'IntegerLiteral') {
      this.#diagnostics.report('VIDL0206', arg.span, { expected: 'a type here', found: 'a number' });
      return { kind: 'error' };
    }
    return this.resolveType(arg, scope);
  }

  /**
   * Resolves a size argument (an integer or an integer constant's name) to a bound in
   * [1, 2³²−1]. Returns `null` after reporting a problem.
   */
  resolveSize(arg: TypeArgument, scope: FileScope, what: string): number | null {
    let value: bigint | undefined;
    if (arg.kind === 'IntegerLiteral') value = arg.value;
    else {
      if (arg.optional || arg.hasArgs) {
        this.#diagnostics.report('VIDL0206', arg.span, { expected: `a size for ${what}`, found: 'a type' });
        return null;
      }
      const resolved = scope.resolve(arg.name, false);
      if (!resolved) return null;
      const decl = resolved.symbol.model;
      if (decl.kind !== 'const') {
        this.#diagnostics.report('VIDL0206', arg.span, { expected: `a size for ${what}`, found: describeDeclaration(decl) });
        return null;
      }
      const constant = this.evaluateConst(decl);
      if (constant === undefined) return null;
      if (typeof constant !== 'bigint') {
        this.#diagnostics.report('VIDL0206', arg.span, { expected: `an integer size for ${what}`, found: `constant ${decl.name}, ${typeof constant === 'number' ? 'a float' : `a ${typeof constant}`}` });
        return null;
      }
      value = constant;
    }
    if (value < 1n || value > BigInt(MAX_BOUND)) {
      this.#diagnostics.report('VIDL0202', arg.span, { what, max: MAX_BOUND, value });
      return null;
    }
    return Number(value);
  }

  /** Evaluates a constant once (memoised), reporting cycles. */
  evaluateConst(model: ConstModel): ConstantValue | undefined {
    const state = this.#state.get(model);
    if (state === 'done') return model.value;
    const symbol = this.#symbolOf(model);
    const node = symbol.node;
    if (node.kind !== 'Const') return undefined;
    if (state === 'resolving' || (state === undefined && this.#isPending(node))) {
      this.#diagnostics.report('VIDL0209', node.value.span, { name: model.name });
      this.#state.set(model, 'done');
      return undefined;
    }
    this.#state.set(model, 'resolving');
    const scope = this.#scopeOf(symbol);
    const type = this.resolveType(node.type, scope);
    model.type = type;
    if (!isConstantType(type)) {
      if (type.kind !== 'error') this.#diagnostics.report('VIDL0207', node.type.span, { type: typeToString(type) });
      this.#state.set(model, 'done');
      return undefined;
    }
    const value = this.evaluateValue(node.value, type, scope, 'VIDL0208', model.name);
    if (this.#state.get(model) === 'resolving') model.value = value;
    this.#state.set(model, 'done');
    return model.value;
  }

  /**
   * Evaluates a value written for `type`. `rangeCode` is the code for an integer that does
   * not fit (VIDL0208 for constants, VIDL0302 for enum/bits members); `name` is what the value
   * defines (`C` or `E.A`), for a cycle.
   */
  evaluateValue(node: ConstValue, type: Type, scope: FileScope, rangeCode: 'VIDL0208' | 'VIDL0302', name: string): ConstantValue | undefined {
    const expected = typeToString(type);
    let value: ConstantValue | undefined;
    switch (node.kind) {
      case 'IntegerLiteral':
        if (type.kind === 'named' && type.decl.kind === 'enum') {
          this.#diagnostics.report('VIDL0208', node.span, { value: `the integer ${node.value}`, type: `enum ${type.decl.name}`, rule: `write a member name, e.g. ${type.decl.name}.${type.decl.members[0]?.name ?? 'MEMBER'}` });
          return undefined;
        }
        value = node.value;
        break;
      case 'FloatLiteral':
        value = node.value;
        break;
      case 'StringLiteral':
        value = node.value;
        break;
      case 'BoolLiteral':
        value = node.value;
        break;
      case 'ConstReference': {
        const resolved: Resolution | undefined = scope.resolve(node.name, true);
        if (!resolved) return undefined;
        if (resolved.kind === 'member') {
          const decl = resolved.symbol.model;
          if (decl.kind !== 'enum' && decl.kind !== 'bits') return undefined;
          const memberValue = this.#memberValue(decl, resolved.member);
          if (memberValue === undefined) return undefined;
          if (type.kind === 'named' && type.decl !== decl) {
            this.#diagnostics.report('VIDL0208', node.span, { value: node.name.text, type: expected, rule: `it is a member of ${decl.name}` });
            return undefined;
          }
          value = memberValue;
          break;
        }
        const decl = resolved.symbol.model;
        if (decl.kind !== 'const') {
          this.#diagnostics.report('VIDL0109', node.span, { name: node.name.text, kind: decl.kind, expected: 'constant', hint: '' });
          return undefined;
        }
        value = this.evaluateConst(decl);
        if (value === undefined) return undefined;
        if (type.kind === 'named' && type.decl.kind === 'enum' && !(decl.type.kind === 'named' && decl.type.decl === type.decl)) {
          this.#diagnostics.report('VIDL0208', node.span, { value: `constant ${decl.name}`, type: `enum ${type.decl.name}`, rule: 'the value must be one of its members' });
          return undefined;
        }
        break;
      }
    }
    return this.#fit(value, type, node.span, rangeCode, name);
  }

  /** Checks that an evaluated value fits `type`; returns it converted (integers to number for floats). */
  #fit(value: ConstantValue, type: Type, span: Span, rangeCode: 'VIDL0208' | 'VIDL0302', name: string): ConstantValue | undefined {
    const expected = typeToString(type);
    const mismatch = () => {
      this.#diagnostics.report('VIDL0208', span, { value: describeValue(value), type: expected, rule: 'wrong kind of value' });
      return undefined;
    };
    if (type.kind === 'primitive') {
      if (type.name === 'bool') return typeof value === 'boolean' ? value : mismatch();
      if (type.name === 'f32' || type.name === 'f64') {
        const v = typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : undefined;
        if (v === undefined) return mismatch();
        // Finite in its own width (an f32 rounds to infinity from 2^128 − 2^103 on).
        if (!Number.isFinite(type.name === 'f32' ? Math.fround(v) : v)) {
          this.#diagnostics.report(rangeCode, span, { value: describeValue(value), type: type.name, rule: `the range is ±${type.name === 'f32' ? F32_MAX : Number.MAX_VALUE} (finite)` });
          return undefined;
        }
        return v;
      }
      if (typeof value !== 'bigint') return mismatch();
      const range = INTEGER_TYPES[type.name];
      if (value < range.min || value > range.max) {
        this.#diagnostics.report(rangeCode, span, { value, type: type.name, rule: `the range is ${range.min} to ${range.max}` });
        return undefined;
      }
      return value;
    }
    if (type.kind === 'string') {
      if (typeof value !== 'string') return mismatch();
      const length = new TextEncoder().encode(value).length;
      if (type.max !== undefined && length > type.max) {
        this.#diagnostics.report('VIDL0208', span, { value: `a string of ${length} UTF-8 bytes`, type: expected, rule: `at most ${type.max} bytes` });
        return undefined;
      }
      return value;
    }
    if (type.kind === 'named' && (type.decl.kind === 'enum' || type.decl.kind === 'bits')) {
      if (typeof value !== 'bigint') return mismatch();
      const decl = type.decl;
      // Members still being evaluated further up are a partial list: checking against them would
      // call a real member "not one of its members". The value depends on the type's members,
      // one of which depends on the value: a cycle.
      if (!this.#ensureMembers(decl)) {
        this.#diagnostics.report('VIDL0209', span, { name });
        return undefined;
      }
      const fits = this.#fit(value, { kind: 'primitive', name: decl.underlying }, span, rangeCode, name);
      if (fits === undefined) return undefined;
      if (decl.kind === 'bits' && (value & ~decl.mask) !== 0n) {
        this.#diagnostics.report('VIDL0208', span, { value: `0x${value.toString(16)}`, type: `bits ${decl.name}`, rule: `it has bits the type does not define (mask 0x${decl.mask.toString(16)})` });
        return undefined;
      }
      if (decl.kind === 'enum' && !decl.members.some((m) => m.value === value)) {
        this.#diagnostics.report('VIDL0208', span, { value, type: `enum ${decl.name}`, rule: 'it is not one of its members' });
        return undefined;
      }
      return value;
    }
    return mismatch();
  }

}

/** Types a constant may have. */
export function isConstantType(type: Type): boolean {
  if (type.kind === 'primitive' || type.kind === 'string') return true;
  return type.kind === 'named' && (type.decl.kind === 'enum' || type.decl.kind === 'bits');
}

function describeValue(value: ConstantValue): string {
  switch (typeof value) {
    case 'bigint':
      return `the integer ${value}`;
    case 'number':
      return `the number ${value}`;
    case 'string':
      return `the string ${JSON.stringify(value)}`;
    default:
      return `the bool ${value}`;
  }
}
