import type { Declaration, FileNode, ImportDeclaration, QualifiedName } from './ast.js';
import type { DiagnosticBag } from './diagnostics.js';
import type { DeclarationModel, LibraryModel } from './model.js';

/** A declaration with its syntax and its (being filled) model. */
export interface DeclarationSymbol {
  readonly node: Declaration;
  readonly model: DeclarationModel;
  readonly library: LibraryScope;
}

/** One library's declarations by name and the files that make it up. */
export interface LibraryScope {
  readonly name: string;
  readonly model: LibraryModel;
  readonly files: FileNode[];
  readonly symbols: Map<string, DeclarationSymbol>;
}

/** What a reference resolved to: a declaration, or a member of an enum/bits declaration. */
export type Resolution = { kind: 'declaration'; symbol: DeclarationSymbol } | { kind: 'member'; symbol: DeclarationSymbol; member: string; memberSpan: QualifiedName['span'] };

/**
 * Resolves names for one file: its own library's declarations, and `library.Name` for
 * the libraries the file imports. Records which imports were used (for the unused-import
 * warning) and reports unknown names and missing imports.
 */
export class FileScope {
  readonly #library: LibraryScope;
  readonly #libraries: ReadonlyMap<string, LibraryScope>;
  readonly #imports = new Map<string, ImportDeclaration>();
  readonly #diagnostics: DiagnosticBag;
  /** Imports referenced at least once. */
  readonly used = new Set<string>();

  readonly #missing: ReadonlySet<string>;

  /** `missing`: imports already reported as not found (VIDL0104); names in them are not reported again. */
  constructor(library: LibraryScope, libraries: ReadonlyMap<string, LibraryScope>, imports: readonly ImportDeclaration[], diagnostics: DiagnosticBag, missing: ReadonlySet<string> = new Set()) {
    this.#library = library;
    this.#missing = missing;
    this.#libraries = libraries;
    for (const i of imports) this.#imports.set(i.name.text, i);
    this.#diagnostics = diagnostics;
  }

  /** The library this file belongs to. */
  get library(): LibraryScope {
    return this.#library;
  }

  /**
   * Resolves a possibly qualified name. With `allowMember`, `Enum.MEMBER` (also
   * `lib.Enum.MEMBER`) resolves to the member. Reports and returns `undefined` on failure.
   */
  resolve(name: QualifiedName, allowMember: boolean): Resolution | undefined {
    return this.#resolve(name, allowMember, this.#diagnostics, true);
  }

  /** Like {@link resolve}, but reports nothing and marks no import used (to look ahead at what a value needs). */
  peek(name: QualifiedName, allowMember: boolean): Resolution | undefined {
    return this.#resolve(name, allowMember, QUIET, false);
  }

  #resolve(name: QualifiedName, allowMember: boolean, diagnostics: Pick<DiagnosticBag, 'report'>, markUsed: boolean): Resolution | undefined {
    const parts = name.parts.map((p) => p.name);
    const local = this.#lookup(this.#library, parts, name, allowMember, diagnostics);
    if (local) return local;
    // The longest prefix that names a library wins: `a.b.C` is C in library a.b.
    for (let split = parts.length - 1; split >= 1; split--) {
      const libraryName = parts.slice(0, split).join('.');
      const library = this.#libraries.get(libraryName);
      if (!library) continue;
      if (library !== this.#library && !this.#imports.has(libraryName)) {
        diagnostics.report('VIDL0105', name.span, { name: name.text, library: libraryName });
        return undefined;
      }
      if (markUsed) this.used.add(libraryName);
      const found = this.#lookup(library, parts.slice(split), name, allowMember, diagnostics);
      if (found) return found;
      diagnostics.report('VIDL0101', name.span, { name: parts.slice(split).join('.'), scope: `library ${libraryName}`, suggestion: '' });
      return undefined;
    }
    // `nope.lib.T` after a failed `import nope.lib;`: the import's diagnostic already says it all.
    for (let split = parts.length - 1; split >= 1; split--) if (this.#missing.has(parts.slice(0, split).join('.'))) return undefined;
    if (!markUsed) return undefined; // a quiet look-ahead needs no "did you mean"
    const suggestion = this.#suggest(parts[parts.length - 1]!);
    diagnostics.report('VIDL0101', name.span, { name: name.text, scope: `library ${this.#library.name}`, suggestion: suggestion ? `; did you mean '${suggestion}'?` : '' });
    return undefined;
  }

  #lookup(library: LibraryScope, parts: readonly string[], name: QualifiedName, allowMember: boolean, diagnostics: Pick<DiagnosticBag, 'report'>): Resolution | undefined {
    const symbol = library.symbols.get(parts[0]!);
    if (!symbol) return undefined;
    if (parts.length === 1) return { kind: 'declaration', symbol };
    if (parts.length === 2 && allowMember && (symbol.node.kind === 'Enum' || symbol.node.kind === 'Bits')) {
      const member = parts[1]!;
      if (!symbol.node.members.some((m) => m.name.name === member)) {
        diagnostics.report('VIDL0101', name.parts[name.parts.length - 1]!.span, { name: member, scope: `${symbol.node.kind === 'Enum' ? 'enum' : 'bits'} ${symbol.node.name.name}`, suggestion: '' });
        return undefined;
      }
      return { kind: 'member', symbol, member, memberSpan: name.span };
    }
    return undefined;
  }

  /** A declared name close to `wanted` (edit distance ≤ 2), for "did you mean". */
  #suggest(wanted: string): string | undefined {
    let best: string | undefined;
    let bestDistance = 3;
    for (const candidate of this.#library.symbols.keys()) {
      const d = editDistance(wanted.toLowerCase(), candidate.toLowerCase());
      if (d < bestDistance) {
        best = candidate;
        bestDistance = d;
      }
    }
    return best;
  }
}

const QUIET: Pick<DiagnosticBag, 'report'> = { report: () => undefined };

/** Levenshtein distance (small inputs only: names). */
export function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 3) return 99;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
