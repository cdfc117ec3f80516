import type {
  Attribute,
  ConstValue,
  Declaration,
  Docs,
  Field,
  FileNode,
  Identifier,
  ImportDeclaration,
  IntegerLiteral,
  LibraryDeclaration,
  MethodDeclaration,
  MethodKind,
  ParameterList,
  QualifiedName,
  TypeArgument,
  TypeExpression,
  UnionMember,
  ValueMember,
} from './ast.js';
import type { DiagnosticBag } from './diagnostics.js';
import { describeTokenKind, tokenize, type Token, type TokenKind } from './lexer.js';
import { joinSpans, type SourceText, type Span } from './source.js';

/** Keywords that start a top-level declaration. */
const DECLARATION_KEYWORDS = new Set(['const', 'enum', 'bits', 'struct', 'union', 'protocol']);

/** Attributes the language knows, and where each may appear. */
const KNOWN_ATTRIBUTES: Readonly<Record<string, { where: string; argument: boolean }>> = {
  selector: { where: 'method', argument: true },
};

/**
 * How deeply type expressions may nest (`vector<vector<…>>`, `array<T?, N>`, …): the type at
 * this depth may not have type arguments of its own. The compiler walks types recursively
 * (resolution, layout, emission), so the limit is what keeps hostile input from running any of
 * those walks out of stack; deeper input is VIDL0902 at the first type past the limit.
 * Nothing else in the grammar nests.
 */
export const MAX_TYPE_NESTING = 256;

/** Thrown to unwind to the nearest recovery point after a syntax error has been reported. */
class SyntaxAbort extends Error {}

/**
 * Parses one `.vidl` file. Never throws: syntax errors are reported and the parser recovers
 * at the next member (`;`) or declaration, so every independent error in a file is reported.
 */
export function parse(source: SourceText, diagnostics: DiagnosticBag): FileNode {
  return new Parser(source, tokenize(source, diagnostics), diagnostics).parseFile();
}

class Parser {
  readonly #source: SourceText;
  readonly #tokens: Token[];
  readonly #diagnostics: DiagnosticBag;
  #pos = 0;
  /** Set after a syntax error until the parser resynchronises, so one mistake gives one error. */
  #panic = false;
  /** How many type expressions enclose the one being parsed (see {@link MAX_TYPE_NESTING}). */
  #typeDepth = 0;

  constructor(source: SourceText, tokens: Token[], diagnostics: DiagnosticBag) {
    this.#source = source;
    this.#tokens = tokens;
    this.#diagnostics = diagnostics;
  }

  parseFile(): FileNode {
    let library: LibraryDeclaration | undefined;
    const imports: ImportDeclaration[] = [];
    const declarations: Declaration[] = [];
    const firstDocs = this.#docs();
    if (this.#atKeyword('library')) library = this.#recover(() => this.#library(firstDocs), 'top');
    else {
      const t = this.#peek();
      this.#diagnostics.report('VIDL0011', t.span, {});
    }
    let first = true;
    while (this.#peekPastDocs().kind !== 'eof') {
      const docs = first && !library ? firstDocs : this.#docs();
      first = false;
      const start = this.#pos;
      this.#recover(() => {
        const attributes = this.#attributes();
        const t = this.#peek();
        if (this.#atKeyword('library')) {
          this.#diagnostics.report('VIDL0012', t.span, { keyword: "'library'" });
          this.#library(docs);
          return;
        }
        if (this.#atKeyword('import')) {
          if (declarations.length > 0) this.#diagnostics.report('VIDL0012', t.span, { keyword: "'import'" });
          this.#checkAttributes(attributes, 'import');
          imports.push(this.#import());
          return;
        }
        if (t.kind === 'identifier' && DECLARATION_KEYWORDS.has(t.text)) {
          declarations.push(this.#declaration(docs, attributes));
          return;
        }
        this.#fail(t, 'a declaration (const, enum, bits, struct, union or protocol)');
      }, 'top');
      if (this.#pos === start) this.#advance();
    }
    this.#peek(); // warns about doc comments left at the end of the file
    const end = this.#tokens[this.#tokens.length - 1]!.span;
    return { kind: 'File', span: this.#source.span(0, end.offset), path: this.#source.path, library, imports, declarations };
  }

  // ------------------------------------------------------------------ declarations

  #library(docs: Docs): LibraryDeclaration {
    const keyword = this.#advance();
    const name = this.#qualifiedName('a library name such as demo.fs');
    const end = this.#expect('semicolon', "after the library name");
    return { kind: 'Library', span: joinSpans(keyword.span, end.span), name, docs };
  }

  #import(): ImportDeclaration {
    const keyword = this.#advance();
    const name = this.#qualifiedName('a library name to import');
    const end = this.#expect('semicolon', 'after the imported library');
    return { kind: 'Import', span: joinSpans(keyword.span, end.span), name };
  }

  #declaration(docs: Docs, attributes: Attribute[]): Declaration {
    const keyword = this.#advance();
    this.#checkAttributes(attributes, keyword.text);
    const name = this.#identifier(`a name for the ${keyword.text}`);
    const base = { name, docs, attributes };
    switch (keyword.text) {
      case 'const': {
        this.#expect('colon', 'after the constant name (const NAME: type = value;)');
        const type = this.#type();
        this.#expect('equals', 'before the constant value');
        const value = this.#constValue();
        const end = this.#expect('semicolon', 'after the constant value');
        return { kind: 'Const', span: joinSpans(keyword.span, end.span), ...base, type, value };
      }
      case 'enum':
      case 'bits': {
        let underlying: TypeExpression | undefined;
        if (this.#peek().kind === 'colon') {
          this.#advance();
          underlying = this.#type();
        }
        const { members, end } = this.#body(() => this.#valueMember());
        const kind = keyword.text === 'enum' ? 'Enum' : 'Bits';
        return { kind, span: joinSpans(keyword.span, end), ...base, underlying, members };
      }
      case 'struct': {
        const { members, end } = this.#body(() => {
          const field = this.#field('struct field');
          this.#expect('semicolon', 'after the field');
          return field;
        });
        return { kind: 'Struct', span: joinSpans(keyword.span, end), ...base, members };
      }
      case 'union': {
        const { members, end } = this.#body(() => this.#unionMember());
        return { kind: 'Union', span: joinSpans(keyword.span, end), ...base, members };
      }
      default: {
        const { members, end } = this.#body(() => this.#method());
        return { kind: 'Protocol', span: joinSpans(keyword.span, end), ...base, methods: members };
      }
    }
  }

  /** `{ member* }` with recovery per member; a missing `}` is reported where the next declaration starts. */
  #body<T>(member: () => T): { members: T[]; end: Span } {
    this.#expect('lbrace', 'to open the body');
    const members: T[] = [];
    for (;;) {
      const t = this.#peekPastDocs();
      if (t.kind === 'rbrace') {
        this.#peek();
        this.#advance();
        this.#panic = false;
        return { members, end: t.span };
      }
      if (t.kind === 'eof' || this.#atDeclarationStart()) {
        this.#error(t.span, "'}' to close the body", this.#describe(t));
        return { members, end: t.span };
      }
      const start = this.#pos;
      const parsed = this.#recover(member, 'member');
      if (parsed !== undefined) members.push(parsed);
      if (this.#pos === start) this.#advance();
    }
  }

  #valueMember(): ValueMember {
    const docs = this.#docs();
    const attributes = this.#attributes();
    this.#checkAttributes(attributes, 'member');
    const name = this.#identifier('a member name');
    this.#expect('equals', 'after the member name (NAME = value;)');
    const value = this.#constValue();
    const end = this.#expect('semicolon', 'after the member value');
    return { kind: 'ValueMember', span: joinSpans(name.span, end.span), name, value, docs, attributes };
  }

  #unionMember(): UnionMember {
    const docs = this.#docs();
    const attributes = this.#attributes();
    this.#checkAttributes(attributes, 'union member');
    const tagToken = this.#expect('integer', 'as the union member tag (1: name: type;)');
    const tag: IntegerLiteral = { kind: 'IntegerLiteral', span: tagToken.span, value: tagToken.integer ?? 0n };
    this.#expect('colon', 'after the tag');
    const name = this.#identifier('a union member name');
    this.#expect('colon', 'after the member name');
    const type = this.#type();
    const end = this.#expect('semicolon', 'after the union member');
    return { kind: 'UnionMember', span: joinSpans(tagToken.span, end.span), tag, name, type, docs, attributes };
  }

  #field(what: string): Field {
    const docs = this.#docs();
    const attributes = this.#attributes();
    this.#checkAttributes(attributes, what);
    const name = this.#identifier(`a ${what} name`);
    this.#expect('colon', `after the ${what} name (name: type)`);
    const type = this.#type();
    return { kind: 'Field', span: joinSpans(name.span, type.span), name, type, docs, attributes };
  }

  #method(): MethodDeclaration {
    const docs = this.#docs();
    const attributes = this.#attributes();
    this.#checkAttributes(attributes, 'method');
    let methodKind: MethodKind = 'twoWay';
    const first = this.#peek();
    let explicitOneway = false;
    if ((first.text === 'oneway' || first.text === 'event') && first.kind === 'identifier' && this.#tokens[this.#pos + 1]?.kind === 'identifier') {
      this.#advance();
      methodKind = first.text === 'oneway' ? 'oneway' : 'event';
      explicitOneway = true;
    }
    const name = this.#identifier('a method name');
    const request = this.#parameters();
    let response: ParameterList | undefined;
    let error: TypeExpression | undefined;
    if (this.#peek().kind === 'arrow') {
      const arrow = this.#advance();
      const parsed = this.#parameters();
      if (methodKind === 'twoWay') response = parsed;
      else this.#diagnostics.report('VIDL0015', joinSpans(arrow.span, parsed.span), { kind: methodKind === 'event' ? 'an event' : "a 'oneway' method" });
    } else if (!explicitOneway) methodKind = 'oneway';
    if (this.#atKeyword('error')) {
      const keyword = this.#advance();
      const type = this.#type();
      if (response) error = type;
      else this.#diagnostics.report('VIDL0017', joinSpans(keyword.span, type.span), {});
    }
    const end = this.#expect('semicolon', 'after the method');
    return { kind: 'Method', span: joinSpans(first.span, end.span), methodKind, name, request, response, error, docs, attributes };
  }

  #parameters(): ParameterList {
    const open = this.#expect('lparen', 'to start the parameter list');
    const fields: Field[] = [];
    while (this.#peekPastDocs().kind !== 'rparen') {
      fields.push(this.#field('parameter'));
      if (this.#peek().kind !== 'comma') break;
      this.#advance();
    }
    const close = this.#expect('rparen', 'to end the parameter list');
    return { span: joinSpans(open.span, close.span), fields };
  }

  // ------------------------------------------------------------------ types and values

  #type(): TypeExpression {
    if (this.#typeDepth >= MAX_TYPE_NESTING) {
      // Reported at the first type past the limit, before recursing any further.
      if (!this.#panic) this.#diagnostics.report('VIDL0902', this.#peek().span, { limit: MAX_TYPE_NESTING });
      this.#panic = true;
      throw new SyntaxAbort();
    }
    this.#typeDepth++;
    try {
      return this.#typeAtDepth();
    } finally {
      this.#typeDepth--;
    }
  }

  #typeAtDepth(): TypeExpression {
    const name = this.#qualifiedName('a type');
    const args: TypeArgument[] = [];
    let hasArgs = false;
    let end = name.span;
    if (this.#peek().kind === 'langle') {
      hasArgs = true;
      this.#advance();
      while (this.#peek().kind !== 'rangle') {
        const t = this.#peek();
        if (t.kind === 'integer') {
          this.#advance();
          args.push({ kind: 'IntegerLiteral', span: t.span, value: t.integer ?? 0n });
        } else args.push(this.#type());
        if (this.#peek().kind !== 'comma') break;
        this.#advance();
      }
      end = this.#expect('rangle', "to close the type arguments").span;
    }
    let optional = false;
    if (this.#peek().kind === 'question') {
      optional = true;
      end = this.#advance().span;
      if (this.#peek().kind === 'question') this.#fail(this.#peek(), "';' (a type is optional at most once)");
    }
    return { kind: 'TypeExpression', span: joinSpans(name.span, end), name, args, hasArgs, optional };
  }

  #constValue(): ConstValue {
    const t = this.#peek();
    if (t.kind === 'integer') {
      this.#advance();
      return { kind: 'IntegerLiteral', span: t.span, value: t.integer ?? 0n };
    }
    if (t.kind === 'float') {
      this.#advance();
      return { kind: 'FloatLiteral', span: t.span, value: t.float ?? 0 };
    }
    if (t.kind === 'string') {
      this.#advance();
      return { kind: 'StringLiteral', span: t.span, value: t.value ?? '' };
    }
    if (t.kind === 'identifier' && (t.text === 'true' || t.text === 'false')) {
      this.#advance();
      return { kind: 'BoolLiteral', span: t.span, value: t.text === 'true' };
    }
    if (t.kind === 'identifier') {
      const name = this.#qualifiedName('a value');
      return { kind: 'ConstReference', span: name.span, name };
    }
    return this.#fail(t, 'a value (an integer, a string, true, false or a constant name)');
  }

  #qualifiedName(what: string): QualifiedName {
    const parts = [this.#identifier(what)];
    while (this.#peek().kind === 'dot') {
      this.#advance();
      parts.push(this.#identifier(`a name after '.'`));
    }
    return { kind: 'QualifiedName', span: joinSpans(parts[0]!.span, parts[parts.length - 1]!.span), parts, text: parts.map((p) => p.name).join('.') };
  }

  #identifier(what: string): Identifier {
    const t = this.#peek();
    if (t.kind !== 'identifier') return this.#fail(t, what);
    this.#advance();
    return { kind: 'Identifier', span: t.span, name: t.text };
  }

  #attributes(): Attribute[] {
    const attributes: Attribute[] = [];
    while (this.#peek().kind === 'at') {
      const at = this.#advance();
      const name = this.#identifier('an attribute name after @');
      let argument: Attribute['argument'];
      let end = name.span;
      if (this.#peek().kind === 'lparen') {
        this.#advance();
        const s = this.#expect('string', 'as the attribute argument');
        argument = { kind: 'StringLiteral', span: s.span, value: s.value ?? '' };
        end = this.#expect('rparen', 'after the attribute argument').span;
      }
      attributes.push({ kind: 'Attribute', span: joinSpans(at.span, end), name, argument });
    }
    return attributes;
  }

  #checkAttributes(attributes: readonly Attribute[], where: string): void {
    const seen = new Set<string>();
    for (const attribute of attributes) {
      const name = attribute.name.name;
      const known = KNOWN_ATTRIBUTES[name];
      if (!known) {
        this.#diagnostics.report('VIDL0013', attribute.span, { name, known: Object.keys(KNOWN_ATTRIBUTES).map((k) => `@${k}`).join(', ') });
        continue;
      }
      if (known.where !== where) this.#diagnostics.report('VIDL0014', attribute.span, { name, target: known.where, found: where });
      else if (known.argument && !attribute.argument) this.#diagnostics.report('VIDL0018', attribute.span, { name });
      else if (seen.has(name)) this.#diagnostics.report('VIDL0019', attribute.span, { name });
      seen.add(name);
    }
  }

  // ------------------------------------------------------------------ tokens and recovery

  /** Collects the doc comment lines right before the next token. */
  #docs(): Docs {
    const lines: string[] = [];
    let span: Span | undefined;
    while (this.#tokens[this.#pos]!.kind === 'doc') {
      const t = this.#tokens[this.#pos++]!;
      lines.push(t.value ?? '');
      span = span ? joinSpans(span, t.span) : t.span;
    }
    return { lines, span };
  }

  /** The next non-doc token; doc comments skipped here are attached to nothing and get a warning. */
  #peek(): Token {
    while (this.#tokens[this.#pos]!.kind === 'doc') {
      const t = this.#tokens[this.#pos++]!;
      this.#diagnostics.report('VIDL0016', t.span, {});
    }
    return this.#tokens[this.#pos]!;
  }

  /** The next non-doc token without consuming or warning about doc comments. */
  #peekPastDocs(): Token {
    let i = this.#pos;
    while (this.#tokens[i]!.kind === 'doc') i++;
    return this.#tokens[i]!;
  }

  #advance(): Token {
    const t = this.#peek();
    if (t.kind !== 'eof') this.#pos++;
    return t;
  }

  #atKeyword(word: string): boolean {
    const t = this.#peek();
    return t.kind === 'identifier' && t.text === word;
  }

  /** A declaration keyword followed by a name: where a missing `}` most likely ended a body. */
  #atDeclarationStart(): boolean {
    let i = this.#pos;
    while (this.#tokens[i]!.kind === 'doc' || this.#tokens[i]!.kind === 'at') {
      if (this.#tokens[i]!.kind === 'at') return false;
      i++;
    }
    const t = this.#tokens[i]!;
    return t.kind === 'identifier' && DECLARATION_KEYWORDS.has(t.text) && this.#tokens[i + 1]?.kind === 'identifier';
  }

  #expect(kind: TokenKind, context: string): Token {
    const t = this.#peek();
    if (t.kind !== kind) {
      // A missing ';' belongs where the statement ended, not on the next line's first token.
      if (kind === 'semicolon') {
        const previous = this.#previousToken();
        if (previous) {
          this.#error(this.#source.span(previous.span.offset + previous.span.length, 1), `${describeTokenKind(kind)} ${context}`, this.#describe(t));
          throw new SyntaxAbort();
        }
      }
      return this.#fail(t, `${describeTokenKind(kind)} ${context}`);
    }
    return this.#advance();
  }

  /** The last token consumed that is not a doc comment (undefined at the start of the file). */
  #previousToken(): Token | undefined {
    for (let i = this.#pos - 1; i >= 0; i--) if (this.#tokens[i]!.kind !== 'doc') return this.#tokens[i];
    return undefined;
  }

  #describe(t: Token): string {
    if (t.kind === 'eof') return 'end of file';
    if (t.kind === 'identifier') return `'${t.text}'`;
    return `${describeTokenKind(t.kind)}${t.kind === 'integer' || t.kind === 'float' || t.kind === 'string' ? ` ${t.text}` : ''}`;
  }

  /** Reports VIDL0010 (`expected …, found …`) unless already recovering from a syntax error. */
  #error(span: Span, expected: string, found: string): void {
    if (!this.#panic) this.#diagnostics.report('VIDL0010', span, { expected, found });
    this.#panic = true;
  }

  #fail(t: Token, expected: string): never {
    this.#error(t.span, expected, this.#describe(t));
    throw new SyntaxAbort();
  }

  /**
   * Runs `parse`; on a syntax error skips to the recovery point of `level` (a member ends at
   * `;` or before `}`, a declaration at a declaration keyword or after a top-level `}`).
   */
  #recover<T>(parse: () => T, level: 'top' | 'member'): T | undefined {
    try {
      const result = parse();
      this.#panic = false;
      return result;
    } catch (e) {
      if (!(e instanceof SyntaxAbort)) throw e;
      this.#synchronize(level);
      return undefined;
    }
  }

  #synchronize(level: 'top' | 'member'): void {
    let depth = 0;
    for (;;) {
      const t = this.#tokens[this.#pos]!;
      if (t.kind === 'eof') return;
      if (level === 'member') {
        if (depth === 0 && t.kind === 'rbrace') return;
        if (depth === 0 && this.#atDeclarationStart()) return;
        this.#pos++;
        if (t.kind === 'lbrace' || t.kind === 'lparen') depth++;
        else if ((t.kind === 'rbrace' || t.kind === 'rparen') && depth > 0) depth--;
        else if (t.kind === 'semicolon' && depth === 0) {
          this.#panic = false;
          return;
        }
      } else {
        if (depth === 0 && t.kind === 'identifier' && (DECLARATION_KEYWORDS.has(t.text) || t.text === 'import') && this.#pos > 0) {
          const previous = this.#tokens[this.#pos - 1]!;
          if (previous.kind === 'semicolon' || previous.kind === 'rbrace' || previous.kind === 'doc' || this.#atDeclarationStart()) {
            this.#panic = false;
            return;
          }
        }
        this.#pos++;
        if (t.kind === 'lbrace') depth++;
        else if (t.kind === 'rbrace') {
          if (depth > 0) depth--;
          if (depth === 0) {
            this.#panic = false;
            return;
          }
        } else if (t.kind === 'semicolon' && depth === 0) {
          this.#panic = false;
          return;
        }
      }
    }
  }
}
