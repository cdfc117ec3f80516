/**
 * Wire layout: alignment, maximum encoded size and maximum capability count of every type
 * and message, and the transport path (register fast path or large message) per arch.
 *
 * Sizes are exact maxima, not estimates. Padding depends on where a value starts modulo 8,
 * so each type is described by a max-plus "transfer matrix" over the 8 start residues:
 * entry [r][s] is the most bytes a value can add when it starts at an offset ≡ r (mod 8) and
 * ends at one ≡ s. Sequences multiply, alternatives take the element-wise maximum, and a
 * vector of up to N elements is a sum of matrix powers computed by doubling.
 */
import { KERNEL_LIMITS, type ArchLimits } from './arch.js';
import type { FieldModel, LibraryModel, MethodModel, PrimitiveName, ProtocolModel, Type, TypeDeclaration } from './model.js';
import { INTEGER_TYPES } from './model.js';

const R = 8;
type Matrix = Float64Array;

const NONE = -Infinity;

function empty(): Matrix {
  return new Float64Array(R * R).fill(NONE);
}

function identity(): Matrix {
  const m = empty();
  for (let r = 0; r < R; r++) m[r * R + r] = 0;
  return m;
}

function unbounded(): Matrix {
  return new Float64Array(R * R).fill(Infinity);
}

/** Pad to `alignment`, then `size` bytes. */
function step(size: number, alignment: number): Matrix {
  const m = empty();
  for (let r = 0; r < R; r++) {
    const pad = (alignment - (r % alignment)) % alignment;
    m[r * R + ((r + pad + size) % R)] = pad + size;
  }
  return m;
}

function multiply(a: Matrix, b: Matrix): Matrix {
  const c = empty();
  for (let r = 0; r < R; r++) {
    for (let k = 0; k < R; k++) {
      const x = a[r * R + k]!;
      if (x === NONE) continue;
      for (let s = 0; s < R; s++) {
        const y = b[k * R + s]!;
        if (y === NONE) continue;
        const v = x + y;
        if (v > c[r * R + s]!) c[r * R + s] = v;
      }
    }
  }
  return c;
}

function join(a: Matrix, b: Matrix): Matrix {
  const c = new Float64Array(R * R);
  for (let i = 0; i < R * R; i++) c[i] = Math.max(a[i]!, b[i]!);
  return c;
}

function sequence(...parts: Matrix[]): Matrix {
  return parts.reduce(multiply, identity());
}

/** `m` applied exactly `n` times. */
function power(m: Matrix, n: number): Matrix {
  let result = identity();
  let base = m;
  for (let k = n; k > 0; k = Math.floor(k / 2)) {
    if (k % 2 === 1) result = multiply(result, base);
    if (k > 1) base = multiply(base, base);
  }
  return result;
}

/** `m` applied 0 to `n` times: I ⊕ m ⊕ … ⊕ mⁿ, by doubling (S₂ₖ = Sₖ ⊕ mᵏSₖ). */
function upTo(m: Matrix, n: number): Matrix {
  // sum covers powers [0, count); pow = m^count.
  let sum = empty();
  let pow = identity();
  let count = 0;
  const target = n + 1;
  const bits = target.toString(2);
  for (const bit of bits) {
    if (count > 0) {
      sum = join(sum, multiply(pow, sum));
      pow = multiply(pow, pow);
      count *= 2;
    }
    if (bit === '1') {
      sum = join(sum, pow);
      pow = multiply(pow, m);
      count += 1;
    }
  }
  return sum;
}

function maxFromZero(m: Matrix): number {
  let max = NONE;
  for (let s = 0; s < R; s++) max = Math.max(max, m[s]!);
  return max;
}

const PRIMITIVE_SIZES: Readonly<Record<PrimitiveName, number>> = {
  bool: 1,
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  f32: 4,
  u64: 8,
  i64: 8,
  f64: 8,
};

/** Size (and alignment) of a primitive. */
export function primitiveSize(name: PrimitiveName): number {
  return PRIMITIVE_SIZES[name];
}

/**
 * Alignment of a type: primitives are naturally aligned; a length prefix (string, bytes,
 * vector), a union tag and a capability index are u32, so those are at least 4; a struct,
 * array or optional takes the largest alignment inside it. Every value starts at a multiple
 * of its alignment, which makes its encoding independent of where it sits.
 *
 * That is the largest alignment of anything reachable from `type`. One call computes it from
 * scratch (linear in what `type` reaches); the layout and the generator share one cache per
 * program instead, so that each declaration is computed once.
 */
export function alignmentOf(type: Type): number {
  return new Alignments().of(type);
}

/** Alignment of a declared type (see {@link alignmentOf}). */
export function declarationAlignment(decl: TypeDeclaration): number {
  return new Alignments().declaration(decl);
}

/** Alignment of a message body (the request, response or event parameters as a struct). */
export function bodyAlignment(fields: readonly FieldModel[], alignments: Alignments = new Alignments()): number {
  return fields.reduce((a, f) => Math.max(a, alignments.of(f.type)), 1);
}

/**
 * The alignment of every declaration of one program, each computed once and cached (an
 * instance belongs to one compilation: nothing is shared between programs).
 *
 * A declaration's alignment is the largest alignment reachable from it. Every declaration of
 * one strongly connected component of the reference graph (structs and unions naming each
 * other, through optionals and vectors) reaches the same declarations, so they share one
 * alignment: the largest of their own members' alignments and of the components they refer
 * to. The components are found dependencies first ({@link componentsDependenciesFirst}), which
 * visits each declaration and reference once, without recursion: linear in the program, for
 * chains and rings of any length.
 */
export class Alignments {
  readonly #cache = new Map<TypeDeclaration, number>();

  /** Alignment of a value of `type` (see {@link alignmentOf}). */
  of(type: Type): number {
    let alignment = 1;
    const work: Type[] = [type];
    // Only the type's own nesting (bounded by the parser) is walked here; declarations are cached.
    for (let t = work.pop(); t !== undefined; t = work.pop()) {
      switch (t.kind) {
        case 'named':
          alignment = Math.max(alignment, this.declaration(t.decl));
          break;
        default:
          alignment = Math.max(alignment, localAlignment(t, work));
      }
    }
    return alignment;
  }

  /** Alignment of a declared type. */
  declaration(decl: TypeDeclaration): number {
    if (decl.kind === 'enum' || decl.kind === 'bits') return INTEGER_TYPES[decl.underlying].size;
    const cached = this.#cache.get(decl);
    if (cached !== undefined) return cached;
    for (const component of componentsDependenciesFirst([decl], (d) => this.#cache.has(d))) {
      let alignment = 1;
      for (const d of component) alignment = Math.max(alignment, this.#own(d));
      for (const d of component) this.#cache.set(d, alignment);
    }
    return this.#cache.get(decl)!;
  }

  /**
   * The largest alignment of `decl`'s members, taking a declaration outside its component
   * from the cache (it is computed already) and one inside as nothing (the component's max
   * covers it).
   */
  #own(decl: TypeDeclaration): number {
    if (decl.kind === 'enum' || decl.kind === 'bits') return INTEGER_TYPES[decl.underlying].size;
    let alignment = decl.kind === 'union' ? 4 : 1;
    const work: Type[] = (decl.kind === 'struct' ? decl.fields : decl.members).map((m) => m.type);
    for (let t = work.pop(); t !== undefined; t = work.pop()) {
      if (t.kind === 'named') {
        const d = t.decl;
        if (d.kind === 'enum' || d.kind === 'bits') alignment = Math.max(alignment, INTEGER_TYPES[d.underlying].size);
        else alignment = Math.max(alignment, this.#cache.get(d) ?? 1);
      } else alignment = Math.max(alignment, localAlignment(t, work));
    }
    return alignment;
  }
}

/** The alignment a type that is not `named` adds by itself; the types nested in it are pushed to `work`. */
function localAlignment(t: Exclude<Type, { kind: 'named' }>, work: Type[]): number {
  switch (t.kind) {
    case 'primitive':
      return PRIMITIVE_SIZES[t.name];
    case 'string':
    case 'bytes':
    case 'capability':
      return 4;
    case 'vector':
      work.push(t.element);
      return 4;
    case 'array':
      work.push(t.element);
      return 1;
    case 'optional':
      work.push(t.inner);
      return 1;
    case 'error':
      return 1;
  }
}

/** Computes and caches transfer matrices and capability counts. */
class LayoutCalculator {
  /** Alignments of the program's declarations (shared by every message of this layout). */
  readonly alignments = new Alignments();
  readonly #matrices = new Map<TypeDeclaration, Matrix>();
  readonly #active = new Set<TypeDeclaration>();
  readonly #caps = new Map<TypeDeclaration, number>();

  /**
   * Computes every declaration `types` reach, dependencies first, so that {@link matrix} and
   * {@link caps} then find each declaration they meet cached and recurse only along a type's
   * own nesting (bounded by the parser), never along a chain of declarations. A declaration
   * on a cycle (through an optional or a vector) can nest without bound: its size is unbounded.
   */
  prepare(types: readonly Type[]): void {
    const roots: TypeDeclaration[] = [];
    for (const type of types) collectDeclarations(type, roots);
    // Declarations done by an earlier call are not walked again: every call costs only what is new.
    const done = (d: TypeDeclaration) => d.kind === 'enum' || d.kind === 'bits' || (this.#matrices.has(d) && this.#caps.has(d));
    const fresh = roots.filter((d) => !done(d));
    if (fresh.length === 0) return;
    for (const component of componentsDependenciesFirst(fresh, done)) {
      const cyclic = component.length > 1 || referencedDeclarations(component[0]!).includes(component[0]!);
      for (const decl of component) {
        if (this.#matrices.has(decl)) continue;
        if (cyclic) this.#matrices.set(decl, unbounded());
        else this.#declaration(decl);
      }
      if (!this.#caps.has(component[0]!)) this.#componentCaps(component, cyclic);
    }
  }

  matrix(type: Type): Matrix {
    switch (type.kind) {
      case 'primitive':
        return step(PRIMITIVE_SIZES[type.name], PRIMITIVE_SIZES[type.name]);
      case 'capability':
        return step(4, 4);
      case 'string':
      case 'bytes':
        return type.max === undefined ? unbounded() : multiply(step(4, 4), upTo(step(1, 1), type.max));
      case 'vector':
        if (type.max === undefined) return unbounded();
        return sequence(step(0, this.alignments.of(type)), step(4, 4), upTo(this.matrix(type.element), type.max));
      case 'array':
        return power(this.matrix(type.element), type.length);
      case 'optional':
        return sequence(step(0, this.alignments.of(type.inner)), step(1, 1), join(identity(), this.matrix(type.inner)));
      case 'named':
        return this.#declaration(type.decl);
      case 'error':
        return identity();
    }
  }

  #declaration(decl: TypeDeclaration): Matrix {
    if (decl.kind === 'enum' || decl.kind === 'bits') {
      const size = INTEGER_TYPES[decl.underlying].size;
      return step(size, size);
    }
    const cached = this.#matrices.get(decl);
    if (cached) return cached;
    // A declaration reached while computing itself nests without bound: unbounded size.
    if (this.#active.has(decl)) return unbounded();
    this.#active.add(decl);
    const align = this.alignments.declaration(decl);
    let m: Matrix;
    if (decl.kind === 'struct') {
      m = decl.fields.length === 0 ? step(1, 1) : sequence(step(0, align), ...decl.fields.map((f) => this.matrix(f.type)));
    } else {
      const variants = decl.members.map((v) => this.matrix(v.type)).reduce(join, empty());
      m = sequence(step(0, align), step(4, 4), variants);
    }
    this.#active.delete(decl);
    this.#matrices.set(decl, m);
    return m;
  }

  /** Largest number of capabilities a value of `type` can carry (Infinity when unbounded). */
  caps(type: Type): number {
    switch (type.kind) {
      case 'capability':
        return 1;
      case 'vector': {
        const each = this.caps(type.element);
        return each === 0 ? 0 : type.max === undefined ? Infinity : each * type.max;
      }
      case 'array':
        return this.caps(type.element) * type.length;
      case 'optional':
        return this.caps(type.inner);
      case 'named':
        return this.#declarationCaps(type.decl);
      default:
        return 0;
    }
  }

  #declarationCaps(decl: TypeDeclaration): number {
    if (decl.kind === 'enum' || decl.kind === 'bits') return 0;
    const cached = this.#caps.get(decl);
    if (cached !== undefined) return cached;
    this.prepare([{ kind: 'named', decl }]);
    return this.#caps.get(decl)!;
  }

  /** Capabilities of the declarations of one component, whose dependencies outside it are done. */
  #componentCaps(component: readonly TypeDeclaration[], cyclic: boolean): void {
    const cycle = new Set(cyclic ? component : []);
    // Inside a cycle a value can nest again and again; any capability in it repeats without bound.
    const local = (d: TypeDeclaration): number => {
      if (d.kind === 'struct') return d.fields.reduce((n, f) => n + this.#capsOutside(f.type, cycle), 0);
      if (d.kind === 'union') return d.members.reduce((n, m) => Math.max(n, this.#capsOutside(m.type, cycle)), 0);
      return 0;
    };
    if (cyclic) {
      const any = component.some((d) => local(d) > 0);
      for (const d of component) this.#caps.set(d, any ? Infinity : 0);
    } else for (const d of component) this.#caps.set(d, local(d));
  }

  /** Like {@link caps}, counting references back into `cycle` as zero. */
  #capsOutside(type: Type, cycle: ReadonlySet<TypeDeclaration>): number {
    switch (type.kind) {
      case 'named':
        return cycle.has(type.decl) ? 0 : this.#declarationCaps(type.decl);
      case 'vector': {
        const each = this.#capsOutside(type.element, cycle);
        return each === 0 ? 0 : type.max === undefined ? Infinity : each * type.max;
      }
      case 'array':
        return this.#capsOutside(type.element, cycle) * type.length;
      case 'optional':
        return this.#capsOutside(type.inner, cycle);
      default:
        return this.caps(type);
    }
  }
}

/** The declarations `type` names, at any depth of its own nesting (not through them). */
function collectDeclarations(type: Type, out: TypeDeclaration[]): void {
  for (let t: Type | undefined = type; t !== undefined; ) {
    if (t.kind === 'named') out.push(t.decl);
    t = t.kind === 'vector' || t.kind === 'array' ? t.element : t.kind === 'optional' ? t.inner : undefined;
  }
}

function referencedDeclarations(decl: TypeDeclaration): TypeDeclaration[] {
  const out: TypeDeclaration[] = [];
  if (decl.kind === 'struct') decl.fields.forEach((f) => collectDeclarations(f.type, out));
  if (decl.kind === 'union') decl.members.forEach((m) => collectDeclarations(m.type, out));
  return out;
}

/**
 * The strongly connected components of the declarations reachable from `roots`, each after
 * every component it refers to (Tarjan's algorithm with an explicit stack). Declarations for
 * which `done` holds (computed by an earlier call) are neither entered nor returned, so a
 * series of calls that each skip what the earlier ones did visits every declaration once.
 */
export function componentsDependenciesFirst(roots: readonly TypeDeclaration[], done: (decl: TypeDeclaration) => boolean = () => false): TypeDeclaration[][] {
  const index = new Map<TypeDeclaration, number>();
  const low = new Map<TypeDeclaration, number>();
  const onStack = new Set<TypeDeclaration>();
  const stack: TypeDeclaration[] = [];
  const components: TypeDeclaration[][] = [];
  const frames: Array<{ decl: TypeDeclaration; next: TypeDeclaration[]; i: number }> = [];
  const enter = (decl: TypeDeclaration) => {
    index.set(decl, index.size);
    low.set(decl, index.get(decl)!);
    stack.push(decl);
    onStack.add(decl);
    frames.push({ decl, next: referencedDeclarations(decl), i: 0 });
  };
  for (const root of roots) {
    if (index.has(root) || done(root)) continue;
    enter(root);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const to = frame.next[frame.i++];
      if (to !== undefined) {
        if (done(to)) continue;
        if (!index.has(to)) enter(to);
        else if (onStack.has(to)) low.set(frame.decl, Math.min(low.get(frame.decl)!, index.get(to)!));
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent) low.set(parent.decl, Math.min(low.get(parent.decl)!, low.get(frame.decl)!));
      if (low.get(frame.decl) === index.get(frame.decl)) {
        const component: TypeDeclaration[] = [];
        for (;;) {
          const d = stack.pop()!;
          onStack.delete(d);
          component.push(d);
          if (d === frame.decl) break;
        }
        components.push(component);
      }
    }
  }
  return components;
}

/**
 * Which transport a message uses: the register fast path, a large message, or `too-large`
 * when its declared bounds allow more than the kernel's large-message limits (1 MiB and 64
 * capabilities) — such a message travels as a large one while it fits and fails with
 * `MessageTooLarge` beyond. An unbounded message is `large` (its size is only known when sent).
 */
export type TransportPath = 'fast' | 'large' | 'too-large';

/** True when a message's finite bound is over what the kernel's large-message path carries. */
export function exceedsKernelLimits(message: Pick<MessageLayout, 'maxSize' | 'maxCaps'>): boolean {
  return (Number.isFinite(message.maxSize) && message.maxSize > KERNEL_LIMITS.maxLargeData) || (Number.isFinite(message.maxCaps) && message.maxCaps > KERNEL_LIMITS.maxLargeCaps);
}

/** Layout of one message (a request, reply or event payload). */
export interface MessageLayout {
  /** Largest encoded payload in bytes (`Infinity` when a bound is missing or a type recurses). */
  readonly maxSize: number;
  /** Alignment of the payload (its largest member alignment). */
  readonly alignment: number;
  /** Most capabilities the message can carry (`Infinity` when unbounded). */
  readonly maxCaps: number;
  /** Path per arch name. */
  readonly paths: Readonly<Record<string, TransportPath>>;
}

/** Layout of one method or event. */
export interface MethodLayout {
  readonly protocol: string;
  readonly method: string;
  readonly kind: MethodModel['kind'];
  readonly ordinal: bigint;
  readonly messageType: number;
  /** The request (or the event payload). */
  readonly request: MessageLayout;
  /** The reply of a two-way method: the larger of the response and the `error` value (and a framework error's u32). */
  readonly reply: MessageLayout | undefined;
}

/** Layout calculator over a whole program (types shared between libraries are computed once). */
export class Layout {
  readonly #calculator = new LayoutCalculator();
  readonly #arches: readonly ArchLimits[];

  constructor(arches: readonly ArchLimits[]) {
    this.#arches = arches;
  }

  /** Max encoded size of a value of `type` starting at offset 0. */
  maxSize(type: Type): number {
    this.#calculator.prepare([type]);
    return maxFromZero(this.#calculator.matrix(type));
  }

  /** Max capabilities of a value of `type`. */
  maxCaps(type: Type): number {
    this.#calculator.prepare([type]);
    return this.#calculator.caps(type);
  }

  /** Layout of a message body: `fields` encoded as a struct at offset 0 (no fields: zero bytes). */
  body(fields: readonly FieldModel[], extra: readonly Type[] = []): MessageLayout {
    this.#calculator.prepare([...fields.map((f) => f.type), ...extra]);
    const alignment = bodyAlignment(fields, this.#calculator.alignments);
    const matrix = fields.length === 0 ? identity() : sequence(step(0, alignment), ...fields.map((f) => this.#calculator.matrix(f.type)));
    let maxSize = maxFromZero(matrix);
    for (const t of extra) maxSize = Math.max(maxSize, this.maxSize(t));
    const maxCaps = fields.reduce((n, f) => n + this.#calculator.caps(f.type), 0);
    const paths: Record<string, TransportPath> = {};
    const tooLarge = exceedsKernelLimits({ maxSize, maxCaps });
    for (const arch of this.#arches) paths[arch.name] = maxSize <= arch.maxSmallData && maxCaps <= arch.maxSmallCaps ? 'fast' : tooLarge ? 'too-large' : 'large';
    return { maxSize, alignment, maxCaps, paths };
  }

  /** Layout of every method of a protocol. */
  protocol(protocol: ProtocolModel): MethodLayout[] {
    return protocol.methods.map((method) => {
      const request = this.body(method.request);
      let reply: MessageLayout | undefined;
      if (method.response) {
        // A reply is the response, the error value, or a framework error's u32 reason.
        const extra: Type[] = [{ kind: 'primitive', name: 'u32' }];
        if (method.error) extra.push(method.error);
        reply = this.body(method.response, extra);
      }
      return { protocol: protocol.name, method: method.name, kind: method.kind, ordinal: method.ordinal, messageType: method.messageType, request, reply };
    });
  }

  /** Layout of every protocol method of a library. */
  library(library: LibraryModel): MethodLayout[] {
    return library.declarations.flatMap((d) => (d.kind === 'protocol' ? this.protocol(d) : []));
  }
}

