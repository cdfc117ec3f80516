/**
 * The checked program: every name resolved, every constant evaluated, every ordinal
 * computed. Layout and emission read only this model, never the syntax tree.
 */
import type { MethodKind } from './ast.js';
import type { Span } from './source.js';

/** Names of the primitive types. */
export type PrimitiveName = 'bool' | 'u8' | 'u16' | 'u32' | 'u64' | 'i8' | 'i16' | 'i32' | 'i64' | 'f32' | 'f64';

/** The integer primitives (usable as enum/bits underlying types and error types). */
export type IntegerName = Exclude<PrimitiveName, 'bool' | 'f32' | 'f64'>;

/** Range and size of each integer primitive. */
export const INTEGER_TYPES: Readonly<Record<IntegerName, { min: bigint; max: bigint; size: number; signed: boolean }>> = {
  u8: { min: 0n, max: 0xffn, size: 1, signed: false },
  u16: { min: 0n, max: 0xffffn, size: 2, signed: false },
  u32: { min: 0n, max: 0xffff_ffffn, size: 4, signed: false },
  u64: { min: 0n, max: 0xffff_ffff_ffff_ffffn, size: 8, signed: false },
  i8: { min: -0x80n, max: 0x7fn, size: 1, signed: true },
  i16: { min: -0x8000n, max: 0x7fffn, size: 2, signed: true },
  i32: { min: -0x8000_0000n, max: 0x7fff_ffffn, size: 4, signed: true },
  i64: { min: -0x8000_0000_0000_0000n, max: 0x7fff_ffff_ffff_ffffn, size: 8, signed: true },
};

/** True for an integer primitive name. */
export function isIntegerName(name: string): name is IntegerName {
  return Object.hasOwn(INTEGER_TYPES, name);
}

/** Which end of a channel a capability field carries. */
export type CapabilityEnd = 'client' | 'server' | 'any';

/** A resolved type. `error` stands in for a type that failed to resolve (it never reaches emission). */
export type Type =
  | { readonly kind: 'primitive'; readonly name: PrimitiveName }
  | { readonly kind: 'string'; readonly max: number | undefined }
  | { readonly kind: 'bytes'; readonly max: number | undefined }
  | { readonly kind: 'vector'; readonly element: Type; readonly max: number | undefined }
  | { readonly kind: 'array'; readonly element: Type; readonly length: number }
  | { readonly kind: 'optional'; readonly inner: Type }
  | { readonly kind: 'named'; readonly decl: TypeDeclaration }
  | { readonly kind: 'capability'; readonly end: CapabilityEnd; readonly protocol: ProtocolModel | undefined }
  | { readonly kind: 'error' };

/** Documentation lines of a declaration or member. */
export type DocLines = readonly string[];

/** A named, typed slot: a struct field, a method parameter or a response field. */
export interface FieldModel {
  readonly name: string;
  readonly type: Type;
  readonly docs: DocLines;
  readonly span: Span;
}

interface DeclarationModelBase {
  readonly name: string;
  /** The library's name, e.g. `demo.fs`. */
  readonly library: string;
  readonly docs: DocLines;
  readonly span: Span;
}

/** A named value of an enum or bits. */
export interface ValueMemberModel {
  readonly name: string;
  readonly value: bigint;
  readonly docs: DocLines;
  readonly span: Span;
}

/** `enum`. */
export interface EnumModel extends DeclarationModelBase {
  readonly kind: 'enum';
  readonly underlying: IntegerName;
  readonly members: ValueMemberModel[];
}

/** `bits`. */
export interface BitsModel extends DeclarationModelBase {
  readonly kind: 'bits';
  readonly underlying: IntegerName;
  readonly members: ValueMemberModel[];
  /** Union of every member's bits. */
  mask: bigint;
}

/** `struct`. */
export interface StructModel extends DeclarationModelBase {
  readonly kind: 'struct';
  readonly fields: FieldModel[];
}

/** A union member. */
export interface UnionMemberModel {
  readonly tag: number;
  readonly name: string;
  readonly type: Type;
  readonly docs: DocLines;
  readonly span: Span;
}

/** `union`. */
export interface UnionModel extends DeclarationModelBase {
  readonly kind: 'union';
  readonly members: UnionMemberModel[];
}

/** The declarations that are types. */
export type TypeDeclaration = EnumModel | BitsModel | StructModel | UnionModel;

/** A constant's evaluated value. */
export type ConstantValue = bigint | number | string | boolean;

/** `const`. */
export interface ConstModel extends DeclarationModelBase {
  readonly kind: 'const';
  type: Type;
  value: ConstantValue | undefined;
}

/** A protocol method or event. */
export interface MethodModel {
  readonly name: string;
  readonly kind: MethodKind;
  /** `library/Protocol.method`, or as overridden with `@selector`. */
  readonly selector: string;
  /** 64-bit ordinal (SHA-256 rule). */
  readonly ordinal: bigint;
  /** The message type on the wire: the ordinal's low 32 bits. */
  readonly messageType: number;
  /** Request parameters (event parameters for an event). */
  readonly request: FieldModel[];
  /** Response fields of a two-way method (empty for `-> ()`); undefined for one-way methods and events. */
  readonly response: FieldModel[] | undefined;
  /** The `error E` type. */
  readonly error: Type | undefined;
  readonly docs: DocLines;
  readonly span: Span;
}

/** `protocol`. */
export interface ProtocolModel extends DeclarationModelBase {
  readonly kind: 'protocol';
  readonly methods: MethodModel[];
}

/** Any declaration. */
export type DeclarationModel = ConstModel | TypeDeclaration | ProtocolModel;

/** One library: the union of every file that declares it. */
export interface LibraryModel {
  readonly name: string;
  /** Paths of the files declaring the library, in input order. */
  readonly files: string[];
  readonly docs: string[];
  /** Libraries this one imports (resolved). */
  readonly imports: LibraryModel[];
  /** Declarations in source order. */
  readonly declarations: DeclarationModel[];
}

/** The checked input: libraries in dependency order (imports before importers). */
export interface ProgramModel {
  readonly libraries: LibraryModel[];
}

/** `library/Name`, the fully qualified name of a declaration. */
export function qualifiedName(decl: { library: string; name: string }): string {
  return `${decl.library}/${decl.name}`;
}
