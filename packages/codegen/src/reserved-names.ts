/**
 * Names a VIDL declaration, parameter or member may not take because the generated
 * TypeScript would break: JavaScript/TypeScript reserved words, VIDL's own type names, the
 * runtime names every generated module imports, and globals the generated code relies on.
 */

/** JavaScript reserved words (including strict-mode ones) and TypeScript's predefined type names. */
export const SCRIPT_RESERVED_WORDS: ReadonlySet<string> = new Set([
  'arguments', 'await', 'break', 'case', 'catch', 'class', 'const', 'continue', 'debugger', 'default', 'delete', 'do',
  'else', 'enum', 'eval', 'export', 'extends', 'false', 'finally', 'for', 'function', 'if', 'implements', 'import', 'in',
  'instanceof', 'interface', 'let', 'new', 'null', 'package', 'private', 'protected', 'public', 'return', 'static',
  'super', 'switch', 'this', 'throw', 'true', 'try', 'typeof', 'var', 'void', 'while', 'with', 'yield',
  'any', 'bigint', 'boolean', 'never', 'number', 'object', 'string', 'symbol', 'undefined', 'unknown',
]);

/** VIDL's built-in type names (a declaration of that name would be unreachable). */
export const BUILTIN_TYPE_NAMES: ReadonlySet<string> = new Set([
  'bool', 'u8', 'u16', 'u32', 'u64', 'i8', 'i16', 'i32', 'i64', 'f32', 'f64',
  'string', 'bytes', 'vector', 'array', 'client', 'server', 'cap',
]);

/** Names generated modules import from `@veridian/core`. */
export const RUNTIME_IMPORT_NAMES: ReadonlySet<string> = new Set([
  'ApplicationError', 'CapHandle', 'ClientChannel', 'ClientOptions', 'ServeOptions', 'ServerMethod',
  'StubProcess', 'Unsubscribe', 'WireReader', 'WireWriter', 'serveProtocol',
]);

/** Globals the generated code refers to, which a top-level declaration would shadow. */
export const GENERATED_CODE_GLOBALS: ReadonlySet<string> = new Set([
  'Array', 'BigInt', 'Error', 'Number', 'Object', 'Promise', 'Record', 'String', 'Uint8Array',
]);

/** Member names that break JavaScript objects (`__proto__` sets the prototype in an object literal). */
export const RESERVED_MEMBER_NAMES: ReadonlySet<string> = new Set(['__proto__']);

/** Method names a generated client class cannot have (`then` would make the client a thenable). */
export const RESERVED_METHOD_NAMES: ReadonlySet<string> = new Set(['constructor', 'then', '__proto__']);

/** Event names the generated server handle already uses. */
export const RESERVED_EVENT_NAMES: ReadonlySet<string> = new Set(['close', 'closed', '__proto__']);

/** Why a top-level declaration name is reserved, or `undefined` if it is free. */
export function reservedDeclarationReason(name: string): string | undefined {
  if (BUILTIN_TYPE_NAMES.has(name)) return 'is a built-in VIDL type';
  if (SCRIPT_RESERVED_WORDS.has(name)) return 'is a reserved word in TypeScript';
  if (RUNTIME_IMPORT_NAMES.has(name)) return 'is imported by every generated module from @veridian/core';
  if (GENERATED_CODE_GLOBALS.has(name)) return 'would shadow a global the generated code uses';
  return undefined;
}
