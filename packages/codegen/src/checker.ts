import type { Attribute, ConstValue, TypeExpression, ValueMember, BitsDeclaration, EnumDeclaration, Field, FileNode, ImportDeclaration, MethodDeclaration, ProtocolDeclaration, StructDeclaration, UnionDeclaration } from './ast.js';
import { checkIncludeCycles } from './check-cycles.js';
import { checkGeneratedNames, isReservedParameterName } from './check-names.js';
import { checkProtocol } from './check-protocols.js';
import type { DiagnosticBag } from './diagnostics.js';
import {
  isIntegerName,
  type BitsModel,
  type ConstModel,
  type ConstantValue,
  type DeclarationModel,
  type EnumModel,
  type FieldModel,
  type LibraryModel,
  type MethodModel,
  type ProgramModel,
  type ProtocolModel,
  type StructModel,
  type Type,
  type UnionModel,
} from './model.js';
import { defaultSelector, messageTypeOf, methodOrdinal, resolveSelector } from './ordinal.js';
import { RESERVED_EVENT_NAMES, RESERVED_MEMBER_NAMES, RESERVED_METHOD_NAMES, reservedDeclarationReason } from './reserved-names.js';
import { TypeResolver, typeToString } from './resolve-types.js';
import { FileScope, type DeclarationSymbol, type LibraryScope } from './scope.js';
import type { Span } from './source.js';

/**
 * Checks parsed files and builds the {@link ProgramModel}. Files declaring the same library
 * form one library. Every problem is reported to `diagnostics`; the model is complete enough
 * for layout and emission only when no error was reported.
 */
export function check(files: readonly FileNode[], diagnostics: DiagnosticBag): ProgramModel {
  return new Checker(files, diagnostics).run();
}

/** A constant, enum/bits or member in the walk that evaluates dependencies first: `run` evaluates it. */
interface DependencyItem {
  readonly node: object;
  readonly run: () => void;
  readonly edges: () => DependencyItem[];
}

/** Who a member belongs to, for VIDL0103: `{owner} already has a {member} named …`. */
interface MemberOwner {
  readonly name: string;
  readonly member: string;
}

class Checker {
  readonly #files: readonly FileNode[];
  readonly #diagnostics: DiagnosticBag;
  readonly #libraries = new Map<string, LibraryScope>();
  readonly #fileScopes = new Map<FileNode, FileScope>();
  readonly #symbolFile = new Map<DeclarationSymbol, FileNode>();
  readonly #constSymbols = new Map<ConstModel, DeclarationSymbol>();
  readonly #membersDone = new Set<EnumModel | BitsModel>();
  readonly #membersComplete = new Set<EnumModel | BitsModel>();
  readonly #underlyingDone = new Set<EnumModel | BitsModel>();
  readonly #memberStates = new Map<ValueMember, 'resolving' | { value: ConstantValue | undefined }>();
  /** Constants, enums/bits and members whose dependencies are being evaluated first (see {@link Checker.#evaluateDependenciesFirst}). */
  readonly #pending = new Set<object>();
  readonly #visited = new Set<object>();
  readonly #resolver: TypeResolver;

  constructor(files: readonly FileNode[], diagnostics: DiagnosticBag) {
    this.#files = files;
    this.#diagnostics = diagnostics;
    this.#resolver = new TypeResolver(
      diagnostics,
      (symbol) => this.#fileScopes.get(this.#symbolFile.get(symbol)!)!,
      (model) => this.#constSymbols.get(model)!,
      (decl) => {
        this.#resolveMembers(decl);
        return this.#membersComplete.has(decl);
      },
      (decl, member) => this.#memberValue(decl, member),
      (node) => this.#pending.has(node),
    );
  }

  run(): ProgramModel {
    this.#collect();
    this.#bindImports();
    for (const library of this.#libraries.values()) {
      for (const symbol of library.symbols.values()) this.#evaluateDependenciesFirst(symbol);
    }
    for (const library of this.#libraries.values()) {
      for (const symbol of library.symbols.values()) this.#resolveDeclaration(symbol);
    }
    const libraries = this.#orderLibraries();
    checkIncludeCycles(libraries, this.#diagnostics);
    for (const library of libraries) {
      for (const decl of library.declarations) if (decl.kind === 'protocol') checkProtocol(decl, this.#diagnostics);
      checkGeneratedNames(library, this.#diagnostics);
    }
    this.#reportUnusedImports();
    return { libraries };
  }

  // ------------------------------------------------------------------ libraries and symbols

  #collect(): void {
    for (const file of this.#files) {
      if (!file.library) continue;
      const name = file.library.name.text;
      let library = this.#libraries.get(name);
      if (!library) {
        library = {
          name,
          model: { name, files: [], docs: [], imports: [], declarations: [] },
          files: [],
          symbols: new Map(),
        };
        this.#libraries.set(name, library);
      }
      library.files.push(file);
      library.model.files.push(file.path);
      library.model.docs.push(...file.library.docs.lines);
      for (const node of file.declarations) {
        const model = createModel(node, name);
        const existing = library.symbols.get(node.name.name);
        if (existing) {
          this.#diagnostics.report('VIDL0102', node.name.span, { name: node.name.name, library: name }, [
            { message: `first declared here`, span: existing.node.name.span },
          ]);
          continue;
        }
        const reason = reservedDeclarationReason(node.name.name);
        if (reason) this.#diagnostics.report('VIDL0110', node.name.span, { name: node.name.name, reason });
        const symbol: DeclarationSymbol = { node, model, library };
        library.symbols.set(node.name.name, symbol);
        this.#symbolFile.set(symbol, file);
        if (model.kind === 'const') this.#constSymbols.set(model, symbol);
        library.model.declarations.push(model);
      }
    }
  }

  #bindImports(): void {
    for (const library of this.#libraries.values()) {
      const imported = new Set<LibraryModel>();
      for (const file of library.files) {
        const seen = new Map<string, ImportDeclaration>();
        const valid: ImportDeclaration[] = [];
        const missing = new Set<string>();
        for (const node of file.imports) {
          const name = node.name.text;
          if (name === library.name) {
            this.#diagnostics.report('VIDL0111', node.span, { library: name });
            continue;
          }
          const earlier = seen.get(name);
          if (earlier) {
            this.#diagnostics.report('VIDL0106', node.span, { library: name }, [{ message: 'first imported here', span: earlier.span }]);
            continue;
          }
          seen.set(name, node);
          const target = this.#libraries.get(name);
          if (!target) {
            this.#diagnostics.report('VIDL0104', node.name.span, { library: name });
            missing.add(name);
            continue;
          }
          valid.push(node);
          imported.add(target.model);
        }
        this.#fileScopes.set(file, new FileScope(library, this.#libraries, valid, this.#diagnostics, missing));
      }
      library.model.imports.push(...imported);
    }
  }

  /** Libraries with imports before importers; reports import cycles (VIDL0107). */
  #orderLibraries(): LibraryModel[] {
    const order: LibraryModel[] = [];
    const state = new Map<LibraryModel, 'active' | 'done'>();
    const stack: LibraryModel[] = [];
    // An explicit stack: a line of thousands of libraries, each importing the next, is fine input.
    const frames: Array<{ library: LibraryModel; next: number }> = [];
    const visit = (root: LibraryModel) => {
      state.set(root, 'active');
      stack.push(root);
      frames.push({ library: root, next: 0 });
      while (frames.length > 0) {
        const frame = frames[frames.length - 1]!;
        const { library } = frame;
        const target = library.imports[frame.next++];
        if (target === undefined) {
          frames.pop();
          stack.pop();
          state.set(library, 'done');
          order.push(library);
          continue;
        }
        const s = state.get(target);
        if (s === 'active') {
          const cycle = [...stack.slice(stack.indexOf(target)), target].map((l) => l.name).join(' → ');
          const node = this.#importNode(library, target.name);
          if (node) this.#diagnostics.report('VIDL0107', node.span, { cycle });
        } else if (s === undefined) {
          state.set(target, 'active');
          stack.push(target);
          frames.push({ library: target, next: 0 });
        }
      }
    };
    for (const library of this.#libraries.values()) if (!state.has(library.model)) visit(library.model);
    return order;
  }

  #importNode(library: LibraryModel, target: string): ImportDeclaration | undefined {
    for (const file of this.#libraries.get(library.name)!.files) {
      const node = file.imports.find((i) => i.name.text === target);
      if (node) return node;
    }
    return undefined;
  }

  #reportUnusedImports(): void {
    for (const [file, scope] of this.#fileScopes) {
      for (const node of file.imports) {
        const name = node.name.text;
        if (this.#libraries.has(name) && name !== scope.library.name && !scope.used.has(name)) {
          this.#diagnostics.report('VIDL0108', node.span, { library: name });
        }
      }
    }
  }

  // ------------------------------------------------------------------ declarations

  #resolveDeclaration(symbol: DeclarationSymbol): void {
    const scope = this.#fileScopes.get(this.#symbolFile.get(symbol)!)!;
    const { node, model } = symbol;
    switch (node.kind) {
      case 'Const':
        this.#resolver.evaluateConst(model as ConstModel);
        return;
      case 'Enum':
      case 'Bits':
        this.#resolveMembers(model as EnumModel | BitsModel);
        return;
      case 'Struct':
        this.#resolveStruct(node, model as StructModel, scope);
        return;
      case 'Union':
        this.#resolveUnion(node, model as UnionModel, scope);
        return;
      case 'Protocol':
        this.#resolveProtocol(node, model as ProtocolModel, scope);
        return;
    }
  }

  /**
   * Evaluates the constants, enums/bits and members `symbol` needs before `symbol` itself, with
   * an explicit stack: a value then only ever looks one step down to something already known,
   * so a chain of any length needs no recursion. What the evaluation meets while it is still
   * pending further up this stack is a cycle (VIDL0209).
   */
  #evaluateDependenciesFirst(symbol: DeclarationSymbol): void {
    if (symbol.node.kind !== 'Const' && symbol.node.kind !== 'Enum' && symbol.node.kind !== 'Bits') return;
    const frames: Array<{ item: DependencyItem; edges: DependencyItem[]; next: number }> = [];
    const push = (item: DependencyItem) => {
      this.#visited.add(item.node);
      this.#pending.add(item.node);
      frames.push({ item, edges: item.edges(), next: 0 });
    };
    const root = this.#dependencyItem(symbol);
    if (!root || this.#visited.has(root.node)) return;
    push(root);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const edge = frame.edges[frame.next++];
      if (edge) {
        if (!this.#visited.has(edge.node)) push(edge);
        continue;
      }
      frames.pop();
      this.#pending.delete(frame.item.node);
      frame.item.run();
    }
  }

  /** The dependency-walk item of a constant or an enum/bits (undefined for other declarations). */
  #dependencyItem(symbol: DeclarationSymbol): DependencyItem | undefined {
    const { node, model } = symbol;
    const scope = this.#fileScopes.get(this.#symbolFile.get(symbol)!)!;
    if (node.kind === 'Const') {
      return { node, run: () => void this.#resolver.evaluateConst(model as ConstModel), edges: () => [...this.#typeEdges(node.type, scope), ...this.#valueEdges(node.value, scope)] };
    }
    if (node.kind === 'Enum' || node.kind === 'Bits') {
      const decl = model as EnumModel | BitsModel;
      return {
        node,
        run: () => this.#resolveMembers(decl),
        edges: () => [...(node.underlying ? this.#typeEdges(node.underlying, scope) : []), ...node.members.map((m) => this.#memberItem(decl, node, m, scope))],
      };
    }
    return undefined;
  }

  #memberItem(decl: EnumModel | BitsModel, owner: EnumDeclaration | BitsDeclaration, member: ValueMember, scope: FileScope): DependencyItem {
    return {
      node: member,
      run: () => void this.#memberValue(decl, member.name.name, member),
      edges: () => [...(owner.underlying ? this.#typeEdges(owner.underlying, scope) : []), ...this.#valueEdges(member.value, scope)],
    };
  }

  /** Constants and enums/bits a type expression names (its sizes, its enum type). */
  #typeEdges(type: TypeExpression, scope: FileScope): Array<DependencyItem> {
    const out: Array<DependencyItem> = [];
    const work: TypeExpression[] = [type];
    for (let t = work.pop(); t !== undefined; t = work.pop()) {
      const resolved = scope.peek(t.name, false);
      const item = resolved?.kind === 'declaration' ? this.#dependencyItem(resolved.symbol) : undefined;
      if (item) out.push(item);
      for (const arg of t.args) if (arg.kind === 'TypeExpression') work.push(arg);
    }
    return out;
  }

  /** The constant or member a value refers to. */
  #valueEdges(value: ConstValue, scope: FileScope): Array<DependencyItem> {
    if (value.kind !== 'ConstReference') return [];
    const resolved = scope.peek(value.name, true);
    if (!resolved) return [];
    if (resolved.kind === 'declaration') {
      const item = resolved.symbol.node.kind === 'Const' ? this.#dependencyItem(resolved.symbol) : undefined;
      return item ? [item] : [];
    }
    const owner = resolved.symbol.node;
    if (owner.kind !== 'Enum' && owner.kind !== 'Bits') return [];
    const member = owner.members.find((m) => m.name.name === resolved.member);
    const symbolScope = this.#fileScopes.get(this.#symbolFile.get(resolved.symbol)!)!;
    return member ? [this.#memberItem(resolved.symbol.model as EnumModel | BitsModel, owner, member, symbolScope)] : [];
  }

  /** Resolves an enum's or bits' underlying type once. */
  #resolveUnderlying(model: EnumModel | BitsModel): void {
    if (this.#underlyingDone.has(model)) return;
    this.#underlyingDone.add(model);
    const symbol = this.#libraries.get(model.library)!.symbols.get(model.name)!;
    const node = symbol.node as EnumDeclaration | BitsDeclaration;
    if (!node.underlying) return;
    const scope = this.#fileScopes.get(this.#symbolFile.get(symbol)!)!;
    const what = model.kind === 'enum' ? 'enum' : 'bits';
    const type = this.#resolver.resolveType(node.underlying, scope);
    const name = type.kind === 'primitive' && !node.underlying.optional ? type.name : undefined;
    const signedBits = model.kind === 'bits' && name !== undefined && name.startsWith('i');
    if (name === undefined || !isIntegerName(name) || signedBits) {
      if (type.kind !== 'error') {
        this.#diagnostics.report('VIDL0301', node.underlying.span, {
          kind: what,
          name: model.name,
          expected: model.kind === 'bits' ? 'an unsigned integer type (u8, u16, u32 or u64)' : 'an integer type (u8…u64, i8…i64)',
          type: typeToString(type),
        });
      }
    } else (model as { underlying: typeof name }).underlying = name;
  }

  /**
   * The value of one member, evaluated on first use (a member may refer to one declared after
   * it); a member reached again while it is being evaluated is a cycle (VIDL0209). Once all of
   * an enum's members are checked, only accepted members (not duplicates or rejects) have values.
   */
  #memberValue(model: EnumModel | BitsModel, name: string, member?: ValueMember): ConstantValue | undefined {
    if (this.#membersComplete.has(model)) return model.members.find((m) => m.name === name)?.value;
    const symbol = this.#libraries.get(model.library)!.symbols.get(model.name)!;
    const node = symbol.node as EnumDeclaration | BitsDeclaration;
    const target = member ?? node.members.find((m) => m.name.name === name);
    if (!target) return undefined;
    const state = this.#memberStates.get(target);
    if (state === 'resolving' || (state === undefined && this.#pending.has(target))) {
      this.#diagnostics.report('VIDL0209', target.value.span, { name: `${model.name}.${target.name.name}` });
      this.#memberStates.set(target, { value: undefined });
      return undefined;
    }
    if (state) return state.value;
    this.#memberStates.set(target, 'resolving');
    this.#resolveUnderlying(model);
    const scope = this.#fileScopes.get(this.#symbolFile.get(symbol)!)!;
    const value = this.#resolver.evaluateValue(target.value, { kind: 'primitive', name: model.underlying }, scope, 'VIDL0302', `${model.name}.${target.name.name}`);
    if (this.#memberStates.get(target) === 'resolving') this.#memberStates.set(target, { value });
    return (this.#memberStates.get(target) as { value: ConstantValue | undefined }).value;
  }

  /** Checks an enum's or bits' members once; other declarations may need them earlier. */
  #resolveMembers(model: EnumModel | BitsModel): void {
    if (this.#membersDone.has(model)) return;
    this.#membersDone.add(model);
    const library = this.#libraries.get(model.library)!;
    const symbol = library.symbols.get(model.name)!;
    const node = symbol.node as EnumDeclaration | BitsDeclaration;
    const what = model.kind === 'enum' ? 'enum' : 'bits';
    this.#resolveUnderlying(model);
    if (node.members.length === 0) this.#diagnostics.report('VIDL0307', node.name.span, { kind: what, name: model.name });
    const names = new Map<string, Span>();
    const values = new Map<bigint, string>();
    for (const member of node.members) {
      // A second member of the same name is reported once and then left out: its value is not checked.
      if (!this.#checkMemberName(member.name.name, member.name.span, names, { name: `${what} ${model.name}`, member: 'member' })) continue;
      const value = this.#memberValue(model, member.name.name, member);
      if (typeof value !== 'bigint') continue;
      const previous = values.get(value);
      if (previous !== undefined) {
        this.#diagnostics.report('VIDL0303', member.value.span, { member: member.name.name, value, previous });
        continue;
      }
      if (model.kind === 'bits' && (value <= 0n || (value & (value - 1n)) !== 0n)) {
        this.#diagnostics.report('VIDL0304', member.value.span, { member: member.name.name, value });
        continue;
      }
      values.set(value, member.name.name);
      model.members.push({ name: member.name.name, value, docs: member.docs.lines, span: member.span });
      if (model.kind === 'bits') model.mask |= value;
    }
    this.#membersComplete.add(model);
  }

  #resolveStruct(node: StructDeclaration, model: StructModel, scope: FileScope): void {
    model.fields.push(...this.#fields(node.members, scope, { name: `struct ${model.name}`, member: 'field' }, false));
  }

  #resolveUnion(node: UnionDeclaration, model: UnionModel, scope: FileScope): void {
    if (node.members.length === 0) this.#diagnostics.report('VIDL0307', node.name.span, { kind: 'union', name: model.name });
    const names = new Map<string, Span>();
    const tags = new Map<bigint, string>();
    for (const member of node.members) {
      if (!this.#checkMemberName(member.name.name, member.name.span, names, { name: `union ${model.name}`, member: 'member' })) {
        this.#resolver.resolveType(member.type, scope); // its own mistakes are still reported
        continue;
      }
      const type = this.#resolver.resolveType(member.type, scope);
      const tag = member.tag.value;
      if (tag < 1n || tag > 0xffff_ffffn) {
        this.#diagnostics.report('VIDL0306', member.tag.span, { tag });
        continue;
      }
      const previous = tags.get(tag);
      if (previous !== undefined) {
        this.#diagnostics.report('VIDL0305', member.tag.span, { tag, previous });
        continue;
      }
      tags.set(tag, member.name.name);
      model.members.push({ tag: Number(tag), name: member.name.name, type, docs: member.docs.lines, span: member.span });
    }
  }

  #resolveProtocol(node: ProtocolDeclaration, model: ProtocolModel, scope: FileScope): void {
    const names = new Map<string, Span>();
    for (const method of node.methods) {
      const name = method.name.name;
      if (!this.#checkMemberName(name, method.name.span, names, { name: `protocol ${model.name}`, member: 'method or event' })) continue;
      const reserved = method.methodKind === 'event' ? RESERVED_EVENT_NAMES : RESERVED_METHOD_NAMES;
      // `__proto__` is already reported as a reserved member name: one diagnostic for it.
      if (reserved.has(name) && !RESERVED_MEMBER_NAMES.has(name)) {
        this.#diagnostics.report('VIDL0110', method.name.span, {
          name,
          reason: method.methodKind === 'event' ? 'cannot name an event (the generated server handle uses it)' : 'cannot name a method (the generated client class needs it)',
        });
      }
      const request = this.#fields(method.request.fields, scope, { name: `${model.name}.${name}`, member: 'parameter' }, true);
      const response = method.response ? this.#fields(method.response.fields, scope, { name: `the response of ${model.name}.${name}`, member: 'field' }, false) : undefined;
      const error = method.error ? this.#errorType(method, scope) : undefined;
      const selector = this.#selector(method, model);
      const ordinal = methodOrdinal(selector);
      const methodModel: MethodModel = {
        name,
        kind: method.methodKind,
        selector,
        ordinal,
        messageType: messageTypeOf(ordinal),
        request,
        response,
        error,
        docs: method.docs.lines,
        span: method.name.span,
      };
      model.methods.push(methodModel);
    }
  }

  #selector(method: MethodDeclaration, protocol: ProtocolModel): string {
    const attribute: Attribute | undefined = method.attributes.find((a) => a.name.name === 'selector');
    const fallback = defaultSelector(protocol.library, protocol.name, method.name.name);
    if (!attribute?.argument) return fallback;
    const resolved = resolveSelector(attribute.argument.value, protocol.library, protocol.name);
    if (resolved === undefined) {
      this.#diagnostics.report('VIDL0404', attribute.argument.span, { selector: JSON.stringify(attribute.argument.value) });
      return fallback;
    }
    return resolved;
  }

  #errorType(method: MethodDeclaration, scope: FileScope): Type | undefined {
    const node = method.error!;
    const type = this.#resolver.resolveType(node, scope);
    if (type.kind === 'error') return type;
    const ok = (type.kind === 'primitive' && isIntegerName(type.name)) || (type.kind === 'named' && type.decl.kind === 'enum');
    if (!ok) {
      this.#diagnostics.report('VIDL0204', node.span, { type: typeToString(type) });
      return { kind: 'error' };
    }
    return type;
  }

  #fields(fields: readonly Field[], scope: FileScope, owner: MemberOwner, positional: boolean): FieldModel[] {
    const names = new Map<string, Span>();
    const out: FieldModel[] = [];
    for (const field of fields) {
      const name = field.name.name;
      if (!this.#checkMemberName(name, field.name.span, names, owner)) {
        this.#resolver.resolveType(field.type, scope); // its own mistakes are still reported
        continue;
      }
      if (positional && isReservedParameterName(name)) {
        this.#diagnostics.report('VIDL0110', field.name.span, { name, reason: 'is a reserved word in TypeScript (as a parameter of the generated method)' });
      }
      out.push({ name, type: this.#resolver.resolveType(field.type, scope), docs: field.docs.lines, span: field.span });
    }
    return out;
  }

  /**
   * Reports a duplicate (VIDL0103) or reserved (VIDL0110) member name; `owner` is e.g. `{ name: 'struct Point', member: 'field' }`.
   * Returns false for a duplicate: the caller leaves it out of the model, so the one root cause
   * gives one diagnostic (no ordinal, generated-name or value clash with the first).
   */
  #checkMemberName(name: string, span: Span, seen: Map<string, Span>, owner: MemberOwner): boolean {
    const first = seen.get(name);
    if (first) {
      this.#diagnostics.report('VIDL0103', span, { owner: owner.name, member: owner.member, name }, [{ message: 'first declared here', span: first }]);
      return false;
    }
    seen.set(name, span);
    if (RESERVED_MEMBER_NAMES.has(name)) this.#diagnostics.report('VIDL0110', span, { name, reason: "cannot be a member name (it sets an object's prototype in JavaScript)" });
    return true;
  }
}

function createModel(node: FileNode['declarations'][number], library: string): DeclarationModel {
  const base = { name: node.name.name, library, docs: node.docs.lines, span: node.name.span };
  switch (node.kind) {
    case 'Const':
      return { kind: 'const', ...base, type: { kind: 'error' }, value: undefined };
    case 'Enum':
      return { kind: 'enum', ...base, underlying: 'u32', members: [] };
    case 'Bits':
      return { kind: 'bits', ...base, underlying: 'u32', members: [], mask: 0n };
    case 'Struct':
      return { kind: 'struct', ...base, fields: [] };
    case 'Union':
      return { kind: 'union', ...base, members: [] };
    case 'Protocol':
      return { kind: 'protocol', ...base, methods: [] };
  }
}
