import type { DiagnosticBag } from './diagnostics.js';
import { clientMemberNames, generatedNames } from './emit/names.js';
import type { DeclarationModel, LibraryModel } from './model.js';
import { RUNTIME_IMPORT_NAMES, SCRIPT_RESERVED_WORDS } from './reserved-names.js';

/**
 * Reports generated TypeScript names that would collide (VIDL0501): two declarations of a
 * library that generate the same top-level name (`struct FileReadRequest` next to protocol
 * `File`'s method `read`), two client members with one name (`onChanged` and event
 * `changed`), and parameters that would shadow a generated name the method body uses
 * (reported as reserved, VIDL0110).
 */
export function checkGeneratedNames(library: LibraryModel, diagnostics: DiagnosticBag): void {
  const owners = new Map<string, DeclarationModel>();
  for (const decl of library.declarations) {
    // One report per pair of declarations: a type clash also clashes its encode/decode functions.
    const reported = new Set<DeclarationModel>();
    for (const name of generatedNames(decl)) {
      const owner = owners.get(name);
      if (owner && reported.has(owner)) continue;
      if (owner) reported.add(owner);
      if (owner && owner !== decl) {
        diagnostics.report('VIDL0501', decl.span, { first: `${decl.kind} ${decl.name}`, second: `${owner.kind} ${owner.name}`, name }, [
          { message: `${owner.kind} ${owner.name} declared here`, span: owner.span },
        ]);
      } else if (owner === decl) {
        diagnostics.report('VIDL0501', decl.span, { first: `${decl.kind} ${decl.name}`, second: 'another of its members (names that differ only in case or underscores?)', name });
      } else owners.set(name, decl);
    }
  }
  for (const decl of library.declarations) {
    if (decl.kind !== 'protocol') continue;
    const members = new Map<string, string>();
    for (const { name, method } of clientMemberNames(decl)) {
      const other = members.get(name);
      if (other !== undefined) {
        diagnostics.report('VIDL0501', method.span, { first: `${decl.name}.${other}`, second: `${decl.name}.${method.name}`, name: `${decl.name}Client.${name}` });
      } else members.set(name, method.name);
    }
    for (const method of decl.methods) {
      // Only request (and event) parameters become positional parameters; response fields are object properties.
      for (const parameter of method.request) {
        if (owners.has(parameter.name) || RUNTIME_IMPORT_NAMES.has(parameter.name)) {
          diagnostics.report('VIDL0110', parameter.span, { name: parameter.name, reason: `would shadow the generated '${parameter.name}' inside ${decl.name}.${method.name} (as a parameter)` });
        }
      }
    }
  }
}

/** True when `name` cannot be a positional parameter of a generated method. */
export function isReservedParameterName(name: string): boolean {
  return SCRIPT_RESERVED_WORDS.has(name);
}
