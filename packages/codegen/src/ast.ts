/**
 * The syntax tree the parser builds. Every node has a {@link Span}; names are kept as written
 * and resolved later by the checker. Type expressions are generic (`name<args>?`) so the
 * parser stays small and the checker can explain what each built-in expects.
 */
import type { Span } from './source.js';

/** A name as written, e.g. `Stat`. */
export interface Identifier {
  readonly kind: 'Identifier';
  readonly span: Span;
  readonly name: string;
}

/** A dotted name, e.g. `demo.fs`, `Status.NOT_FOUND` or `other.lib.Type`. */
export interface QualifiedName {
  readonly kind: 'QualifiedName';
  readonly span: Span;
  readonly parts: readonly Identifier[];
  /** The parts joined with dots. */
  readonly text: string;
}

/** `@name` or `@name("argument")` before a declaration or member. */
export interface Attribute {
  readonly kind: 'Attribute';
  readonly span: Span;
  readonly name: Identifier;
  readonly argument: StringLiteral | undefined;
}

/** Doc comment lines (`///`) attached to the node that follows them. */
export interface Docs {
  readonly lines: readonly string[];
  readonly span: Span | undefined;
}

/** An integer literal (decimal, `0x` or `0b`, optionally negative, `_` separators allowed). */
export interface IntegerLiteral {
  readonly kind: 'IntegerLiteral';
  readonly span: Span;
  readonly value: bigint;
}

/** A decimal number with a fraction or exponent, e.g. `1.5` or `2e-3`. */
export interface FloatLiteral {
  readonly kind: 'FloatLiteral';
  readonly span: Span;
  readonly value: number;
}

/** A double-quoted string literal. */
export interface StringLiteral {
  readonly kind: 'StringLiteral';
  readonly span: Span;
  readonly value: string;
}

/** `true` or `false`. */
export interface BoolLiteral {
  readonly kind: 'BoolLiteral';
  readonly span: Span;
  readonly value: boolean;
}

/** A reference to a constant or an enum/bits member, e.g. `MAX_PATH` or `Status.DENIED`. */
export interface ConstReference {
  readonly kind: 'ConstReference';
  readonly span: Span;
  readonly name: QualifiedName;
}

/** The right-hand side of a constant or member value. */
export type ConstValue = IntegerLiteral | FloatLiteral | StringLiteral | BoolLiteral | ConstReference;

/** A type expression: `u32`, `string<255>`, `vector<T, N>`, `client<File>`, `Stat?`, … */
export interface TypeExpression {
  readonly kind: 'TypeExpression';
  readonly span: Span;
  readonly name: QualifiedName;
  /** Arguments between `<` and `>`: types, or sizes (an integer or a constant's name, which parses as a type). */
  readonly args: readonly TypeArgument[];
  /** Whether the argument list was written (`string<>` has an empty one). */
  readonly hasArgs: boolean;
  readonly optional: boolean;
}

/** An argument of a type expression. */
export type TypeArgument = TypeExpression | IntegerLiteral;

/** `library a.b;` */
export interface LibraryDeclaration {
  readonly kind: 'Library';
  readonly span: Span;
  readonly name: QualifiedName;
  readonly docs: Docs;
}

/** `import a.b;` */
export interface ImportDeclaration {
  readonly kind: 'Import';
  readonly span: Span;
  readonly name: QualifiedName;
}

interface DeclarationBase {
  readonly span: Span;
  readonly name: Identifier;
  readonly docs: Docs;
  readonly attributes: readonly Attribute[];
}

/** `const NAME: type = value;` */
export interface ConstDeclaration extends DeclarationBase {
  readonly kind: 'Const';
  readonly type: TypeExpression;
  readonly value: ConstValue;
}

/** A member of an enum or bits: `NAME = value;` */
export interface ValueMember {
  readonly kind: 'ValueMember';
  readonly span: Span;
  readonly name: Identifier;
  readonly value: ConstValue;
  readonly docs: Docs;
  readonly attributes: readonly Attribute[];
}

/** `enum Name : u32 { … }` */
export interface EnumDeclaration extends DeclarationBase {
  readonly kind: 'Enum';
  readonly underlying: TypeExpression | undefined;
  readonly members: readonly ValueMember[];
}

/** `bits Name : u8 { … }` */
export interface BitsDeclaration extends DeclarationBase {
  readonly kind: 'Bits';
  readonly underlying: TypeExpression | undefined;
  readonly members: readonly ValueMember[];
}

/** A struct field or a method parameter: `name: type`. */
export interface Field {
  readonly kind: 'Field';
  readonly span: Span;
  readonly name: Identifier;
  readonly type: TypeExpression;
  readonly docs: Docs;
  readonly attributes: readonly Attribute[];
}

/** `struct Name { field; … }` */
export interface StructDeclaration extends DeclarationBase {
  readonly kind: 'Struct';
  readonly members: readonly Field[];
}

/** A union member: `tag: name: type;` */
export interface UnionMember {
  readonly kind: 'UnionMember';
  readonly span: Span;
  readonly tag: IntegerLiteral;
  readonly name: Identifier;
  readonly type: TypeExpression;
  readonly docs: Docs;
  readonly attributes: readonly Attribute[];
}

/** `union Name { 1: a: T; … }` */
export interface UnionDeclaration extends DeclarationBase {
  readonly kind: 'Union';
  readonly members: readonly UnionMember[];
}

/** How a method is called: two-way (a response, maybe empty), one-way (none), or an event (server to client). */
export type MethodKind = 'twoWay' | 'oneway' | 'event';

/** A parenthesised parameter list. */
export interface ParameterList {
  readonly span: Span;
  readonly fields: readonly Field[];
}

/** A protocol method or event. */
export interface MethodDeclaration {
  readonly kind: 'Method';
  readonly span: Span;
  readonly methodKind: MethodKind;
  readonly name: Identifier;
  readonly request: ParameterList;
  readonly response: ParameterList | undefined;
  readonly error: TypeExpression | undefined;
  readonly docs: Docs;
  readonly attributes: readonly Attribute[];
}

/** `protocol Name { method; … }` */
export interface ProtocolDeclaration extends DeclarationBase {
  readonly kind: 'Protocol';
  readonly methods: readonly MethodDeclaration[];
}

/** Any top-level declaration after the library and imports. */
export type Declaration = ConstDeclaration | EnumDeclaration | BitsDeclaration | StructDeclaration | UnionDeclaration | ProtocolDeclaration;

/** One parsed `.vidl` file. */
export interface FileNode {
  readonly kind: 'File';
  readonly span: Span;
  readonly path: string;
  readonly library: LibraryDeclaration | undefined;
  readonly imports: readonly ImportDeclaration[];
  readonly declarations: readonly Declaration[];
}
