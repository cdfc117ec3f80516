import type { SourceText, Span } from './source.js';
import { escapeControls, style, type Style } from './terminal.js';

/** How bad a diagnostic is: errors stop generation (and fail `vidl check`), warnings do not. */
export type Severity = 'error' | 'warning';

/** What a diagnostic code means: its default severity, a one-line title and its message template (IDL.md lists them all). */
export interface DiagnosticCodeInfo {
  readonly severity: Severity;
  readonly title: string;
  /**
   * The one wording of this code's message: `{name}` placeholders are filled from the
   * arguments of {@link DiagnosticBag.report} (as fidlc's `ErrorDef` does), so every report of
   * a code reads the same and its documentation can show it.
   */
  readonly message: string;
}

/**
 * Every diagnostic the compiler can report, by stable code. Codes are never reused or
 * renumbered: tools match on them (a code that is no longer reported moves to
 * {@link RETIRED_DIAGNOSTIC_CODES}). Hundreds group them: 00xx lexical and syntax, 01xx names
 * and imports, 02xx types and constants, 03xx enum, bits and union members, 04xx protocols
 * and ordinals, 05xx generated names, 09xx input files.
 */
export const DIAGNOSTIC_CODES = {
  VIDL0001: { severity: 'error', title: 'unexpected character', message: 'unexpected character {char} (U+{codePoint})' },
  VIDL0002: { severity: 'error', title: 'unterminated string literal', message: `string literal is never closed: add '"' before the end of the line` },
  VIDL0003: { severity: 'error', title: 'unterminated block comment', message: "block comment is never closed: add '*/'" },
  VIDL0004: { severity: 'error', title: 'invalid number literal', message: 'invalid {base} number {text}' },
  VIDL0005: {
    severity: 'error',
    title: 'invalid escape sequence in string',
    message: 'invalid escape sequence {escape}: use \\" \\\\ \\n \\t \\r, or \\u{…} with 1–6 hex digits of a code point (e.g. \\u{1F600})',
  },
  VIDL0010: { severity: 'error', title: 'unexpected token', message: 'expected {expected}, found {found}' },
  VIDL0011: { severity: 'error', title: 'missing library declaration', message: "a .vidl file must start with 'library name;'" },
  VIDL0012: {
    severity: 'error',
    title: 'misplaced library or import declaration',
    message: "misplaced {keyword} declaration: a file has one 'library' declaration first, then its imports, then everything else",
  },
  VIDL0013: { severity: 'error', title: 'unknown attribute', message: "unknown attribute '@{name}' (known: {known})" },
  VIDL0014: { severity: 'error', title: 'attribute in the wrong place', message: "'@{name}' applies to a {target}, not to a {found}" },
  VIDL0015: { severity: 'error', title: 'one-way method or event with a response', message: "{kind} has no response: remove '-> (…)'" },
  VIDL0016: { severity: 'warning', title: 'doc comment attached to nothing', message: 'doc comment is not followed by a declaration, member or parameter it could document' },
  VIDL0017: { severity: 'error', title: 'error type without a response', message: "'error' needs a two-way method: write '-> ()' before it" },
  VIDL0018: { severity: 'error', title: 'attribute without its argument', message: `'@{name}' needs a string argument, e.g. @{name}("…")` },
  VIDL0019: { severity: 'error', title: 'repeated attribute', message: "'@{name}' is given more than once" },
  VIDL0101: { severity: 'error', title: 'unknown name', message: "unknown name '{name}' in {scope}{suggestion}" },
  VIDL0102: { severity: 'error', title: 'duplicate declaration', message: '{name} is already declared in library {library}' },
  VIDL0103: { severity: 'error', title: 'duplicate member name', message: "{owner} already has a {member} named '{name}'" },
  VIDL0104: {
    severity: 'error',
    title: 'imported library not found',
    message: 'library {library} not found: pass its .vidl file too, or put {library}.vidl next to this file or in an --include directory',
  },
  VIDL0105: { severity: 'error', title: 'library used without an import', message: "'{name}' refers to library {library}, which this file does not import: add 'import {library};'" },
  VIDL0106: { severity: 'error', title: 'duplicate import', message: 'library {library} is already imported' },
  VIDL0107: { severity: 'error', title: 'import cycle', message: 'import cycle: {cycle}; move the shared declarations into a library both can import' },
  VIDL0108: { severity: 'warning', title: 'unused import', message: 'import {library} is not used in this file' },
  VIDL0109: { severity: 'error', title: 'name refers to the wrong kind of declaration', message: "'{name}' is a {kind}, not a {expected}{hint}" },
  VIDL0110: { severity: 'error', title: 'reserved name', message: "'{name}' {reason}; choose another name" },
  VIDL0111: { severity: 'error', title: 'library imports itself', message: 'library {library} cannot import itself' },
  VIDL0201: {
    severity: 'error',
    title: 'type contains itself without an optional or vector break',
    message: '{kind} {name} contains itself ({route}); make a member optional (T?) or a vector to break the cycle',
  },
  VIDL0202: { severity: 'error', title: 'invalid size bound', message: '{what} must be between 1 and {max}, not {value}' },
  VIDL0203: { severity: 'error', title: 'client<P> or server<P> does not name a protocol', message: '{builtin}<…> takes a protocol name, not {found}' },
  VIDL0204: { severity: 'error', title: 'error type is not an enum or an integer type', message: 'error type must be an enum or an integer type, not {type}' },
  VIDL0205: { severity: 'error', title: 'wrong number of type arguments', message: '{name} takes {expected}' },
  VIDL0206: { severity: 'error', title: 'type argument of the wrong kind', message: 'expected {expected}, found {found}' },
  VIDL0207: {
    severity: 'error',
    title: 'constant of a type constants cannot have',
    message: 'a constant cannot have type {type} (use bool, an integer, f32, f64, string, an enum or bits)',
  },
  VIDL0208: { severity: 'error', title: 'constant value does not fit its type', message: '{value} does not fit {type}: {rule}' },
  VIDL0209: { severity: 'error', title: 'constant defined in terms of itself', message: 'constant {name} is defined in terms of itself' },
  VIDL0301: { severity: 'error', title: 'enum or bits underlying type is not an integer type', message: '{kind} {name} needs {expected}, not {type}' },
  VIDL0302: { severity: 'error', title: 'member value does not fit the underlying type', message: '{value} does not fit {type}: {rule}' },
  VIDL0303: { severity: 'error', title: 'duplicate member value', message: '{member} has the same value {value} as {previous}' },
  VIDL0304: { severity: 'error', title: 'bits member is not a power of two', message: 'bits member {member} = {value} is not a single bit (a power of two)' },
  VIDL0305: { severity: 'error', title: 'duplicate union tag', message: 'tag {tag} is already used by {previous}' },
  VIDL0306: { severity: 'error', title: 'union tag out of range', message: 'union tag {tag} is out of range: tags are 1 to 4294967295 (0 is never a valid tag)' },
  VIDL0307: { severity: 'error', title: 'enum, bits or union without members', message: '{kind} {name} has no members' },
  VIDL0401: {
    severity: 'error',
    title: 'method ordinal collision',
    message: '{method} has the same ordinal {ordinal} as {other} (selectors {selector} and {otherSelector}); give one a different @selector',
  },
  VIDL0402: {
    severity: 'error',
    title: 'message type collision (low 32 bits of two ordinals)',
    message: '{method} and {other} have the same message type {type} (the low 32 bits of their ordinals); give one a different @selector',
  },
  VIDL0403: {
    severity: 'error',
    title: 'message type in the reserved range',
    message: "{method}'s ordinal {ordinal} gives message type {type}, which is reserved (ordinal 0 and message types {reserved}–0xffffffff belong to the framework); give it a different @selector",
  },
  VIDL0404: { severity: 'error', title: 'invalid selector', message: "selector {selector} is neither a method name nor 'library/Protocol.method'" },
  VIDL0405: {
    severity: 'error',
    title: 'event carries a capability',
    message: 'event {event} cannot carry a capability (parameter {parameter}): an event goes to every subscriber, a capability to one process',
  },
  VIDL0406: {
    severity: 'warning',
    title: "message can exceed the kernel's large-message limit",
    message: "the {message} of {method} can reach {size}, over the kernel's limit of {limit}; lower its bounds, or it fails with MessageTooLarge when that big",
  },
  VIDL0501: { severity: 'error', title: 'generated name collision', message: "{first} and {second} both generate '{name}'; rename one of them" },
  VIDL0901: { severity: 'error', title: 'file is not valid UTF-8', message: 'invalid UTF-8 byte {byte} at byte offset {offset}: .vidl files are UTF-8 text' },
  VIDL0902: {
    severity: 'error',
    title: 'too deep for the compiler',
    message: 'type expressions nest at most {limit} deep: declare the inner part as a struct of its own',
  },
} as const satisfies Record<string, DiagnosticCodeInfo>;

/** A stable diagnostic code such as `VIDL0101`. */
export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

/** A code that was once reported and no longer is: it is never reused for anything else. */
export interface RetiredDiagnosticCode {
  readonly title: string;
  /** The version of `@veridian/codegen` that stopped reporting it. */
  readonly retiredIn: string;
  /** Why, and what is reported instead. */
  readonly reason: string;
}

/**
 * Codes no longer reported, kept so they are never given another meaning. None yet: the
 * codes of the first release are all in use (IDL.md's "Retired codes" lists them as they come).
 */
export const RETIRED_DIAGNOSTIC_CODES: Readonly<Record<string, RetiredDiagnosticCode>> = {};

/** The `{name}` placeholders of a message template (`{…}` and `{1F600}`, as in `\u{…}`, are text). */
export type MessagePlaceholders<T extends string> = T extends `${string}{${infer Name}}${infer Rest}`
  ? (Name extends `${string}…${string}` | `${number}${string}` | '' ? never : Name) | MessagePlaceholders<Rest>
  : never;

/** The arguments a report of `code` fills its template with. */
export type DiagnosticArguments<C extends DiagnosticCode> = Record<MessagePlaceholders<(typeof DIAGNOSTIC_CODES)[C]['message']>, string | number | bigint>;

/** Fills `code`'s message template with `args` (each placeholder must have a value). */
export function formatMessage<C extends DiagnosticCode>(code: C, args: DiagnosticArguments<C>): string {
  const values = args as Record<string, string | number | bigint>;
  return DIAGNOSTIC_CODES[code].message.replace(/\{([A-Za-z]+)\}/g, (_whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${code}: no value for {${name}}`);
    return String(value);
  });
}

/** A secondary location that explains a diagnostic (e.g. where a duplicate was first declared). */
export interface RelatedInformation {
  readonly message: string;
  readonly span: Span;
}

/** One problem found in the input. */
export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly severity: Severity;
  readonly message: string;
  readonly span: Span;
  readonly related: readonly RelatedInformation[];
}

/** Collects diagnostics in the order found. */
export class DiagnosticBag {
  readonly #items: Diagnostic[] = [];

  /** Reports a problem with the code's default severity and its message template filled with `args`. */
  report<C extends DiagnosticCode>(code: C, span: Span, args: DiagnosticArguments<C>, related: readonly RelatedInformation[] = []): void {
    this.#items.push({ code, severity: DIAGNOSTIC_CODES[code].severity, message: formatMessage(code, args), span, related });
  }

  /** Everything reported so far. */
  get items(): readonly Diagnostic[] {
    return this.#items;
  }

  /** True when at least one error (not just warnings) was reported. */
  get hasErrors(): boolean {
    return this.#items.some((d) => d.severity === 'error');
  }
}

/** Sorts diagnostics by file, then position, then code, so output is stable. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return [...diagnostics].sort(
    (a, b) =>
      (a.span.file < b.span.file ? -1 : a.span.file > b.span.file ? 1 : 0) ||
      a.span.offset - b.span.offset ||
      (a.code < b.code ? -1 : a.code > b.code ? 1 : 0),
  );
}

/** Options of {@link formatDiagnostic}. */
export interface FormatOptions {
  /** Colour the output (callers decide from TTY and NO_COLOR; see `shouldUseColor`). */
  color?: boolean;
}

const TAB = '    ';

/**
 * Renders a diagnostic as `severity[CODE]: message`, the `file:line:col` location and a code
 * frame with a caret under the span, followed by notes for related locations.
 */
export function formatDiagnostic(diagnostic: Diagnostic, sources: ReadonlyMap<string, SourceText>, options: FormatOptions = {}): string {
  const paint = (format: Style | readonly Style[], text: string) => (options.color ? style(format, text) : text);
  // What the terminal shows of input text: tabs expanded, control characters escaped.
  const shown = (text: string) => escapeControls(text.replaceAll('\t', TAB));
  const { span } = diagnostic;
  const severityColor = diagnostic.severity === 'error' ? 'red' : 'yellow';
  const lines = [`${paint([severityColor, 'bold'], `${diagnostic.severity}[${diagnostic.code}]`)}${paint('bold', `: ${escapeControls(diagnostic.message)}`)}`];
  const source = sources.get(span.file);
  const gutter = ' '.repeat(String(span.line).length);
  lines.push(`${gutter}${paint('blue', '-->')} ${escapeControls(span.file)}:${span.line}:${span.col}`);
  if (source) {
    const raw = source.lineText(span.line);
    const before = shown(raw.slice(0, span.col - 1));
    const available = Math.max(1, raw.length - (span.col - 1));
    const width = Math.max(1, Math.min(span.length, available));
    const underlined = shown(raw.slice(span.col - 1, span.col - 1 + width)).length || 1;
    lines.push(`${gutter} ${paint('blue', '|')}`);
    lines.push(`${paint('blue', `${span.line} |`)} ${shown(raw)}`.trimEnd());
    lines.push(`${gutter} ${paint('blue', '|')} ${' '.repeat(before.length)}${paint([severityColor, 'bold'], '^'.repeat(underlined))}`);
  }
  for (const note of diagnostic.related) {
    lines.push(`${gutter} ${paint('blue', '=')} note: ${escapeControls(note.message)} (${escapeControls(note.span.file)}:${note.span.line}:${note.span.col})`);
  }
  return lines.join('\n');
}

/** Renders every diagnostic and a summary line (`2 errors, 1 warning`). */
export function formatDiagnostics(diagnostics: readonly Diagnostic[], sources: ReadonlyMap<string, SourceText>, options: FormatOptions = {}): string {
  const parts = diagnostics.map((d) => formatDiagnostic(d, sources, options));
  const errors = diagnostics.filter((d) => d.severity === 'error').length;
  const warnings = diagnostics.length - errors;
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (diagnostics.length > 0) parts.push(`${plural(errors, 'error')}, ${plural(warnings, 'warning')}`);
  return parts.join('\n\n');
}

/** The JSON shape of one diagnostic in `--json` output. */
export interface DiagnosticJson {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  file: string;
  line: number;
  col: number;
  offset: number;
  length: number;
  related: Array<{ message: string; file: string; line: number; col: number; offset: number; length: number }>;
}

/** Converts a diagnostic to its `--json` form. */
export function diagnosticToJson(d: Diagnostic): DiagnosticJson {
  return {
    code: d.code,
    severity: d.severity,
    message: d.message,
    file: d.span.file,
    line: d.span.line,
    col: d.span.col,
    offset: d.span.offset,
    length: d.span.length,
    related: d.related.map((r) => ({ message: r.message, file: r.span.file, line: r.span.line, col: r.span.col, offset: r.span.offset, length: r.span.length })),
  };
}
