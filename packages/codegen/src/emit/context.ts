import { Alignments } from '../layout.js';
import type { LibraryModel, TypeDeclaration } from '../model.js';
import { libraryAlias } from './names.js';

/**
 * What one generated module refers to: names of other libraries' modules (imported as
 * namespaces) and runtime names from `@veridian/core` (imported by name, type-only when only
 * used as types). The import list is built from what emission actually used.
 */
export class ModuleContext {
  /** The library being emitted. */
  readonly library: LibraryModel;
  /** Alignments of the program's declarations, computed once per program and shared by its modules. */
  readonly alignments: Alignments;
  readonly #runtimeValues = new Set<string>();
  readonly #runtimeTypes = new Set<string>();
  readonly #libraries = new Set<string>();

  constructor(library: LibraryModel, alignments: Alignments = new Alignments()) {
    this.library = library;
    this.alignments = alignments;
  }

  /** How this module names `name` declared in `library` (qualified by the import alias when it is another library's). */
  reference(library: string, name: string): string {
    if (library === this.library.name) return name;
    this.#libraries.add(library);
    return `${libraryAlias(library)}.${name}`;
  }

  /** How this module names a declared type. */
  typeReference(decl: TypeDeclaration): string {
    return this.reference(decl.library, decl.name);
  }

  /** A runtime value (class or function) from `@veridian/core`. */
  runtimeValue(name: string): string {
    this.#runtimeValues.add(name);
    return name;
  }

  /** A runtime type from `@veridian/core`. */
  runtimeType(name: string): string {
    this.#runtimeTypes.add(name);
    return name;
  }

  /** Runtime imports: each name once, type-only when never used as a value, sorted. */
  runtimeImports(): Array<{ name: string; isTypeOnly: boolean }> {
    const names = new Set([...this.#runtimeValues, ...this.#runtimeTypes]);
    return [...names].sort().map((name) => ({ name, isTypeOnly: !this.#runtimeValues.has(name) }));
  }

  /** Other libraries referred to, sorted. */
  importedLibraries(): string[] {
    return [...this.#libraries].sort();
  }
}
