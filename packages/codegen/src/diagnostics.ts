import type { SourceText, Span } from './source.js';
import { escapeControls, style, type Style } from './terminal.js';

/** How bad a diagnostic is: errors stop generation (and fail `vidl check`), warnings do not. */
export type Severity = 'error' | 'warning';

/** What a diagnostic code means: its default severity and a one-line title (IDL.md lists them all). */
export interface DiagnosticCodeInfo {
  readonly severity: Severity;
  readonly title: string;
}

/**
 * Every diagnostic the compiler can report, by stable code. Codes are never reused or
 * renumbered: tools match on them. Hundreds group them: 00xx lexical and syntax, 01xx names
 * and imports, 02xx types and constants, 03xx enum, bits and union members, 04xx protocols
 * and ordinals, 05xx generated names, 09xx input files.
 */
export const DIAGNOSTIC_CODES = {
  VIDL0001: { severity: 'error', title: 'unexpected character' },
  VIDL0002: { severity: 'error', title: 'unterminated string literal' },
  VIDL0003: { severity: 'error', title: 'unterminated block comment' },
  VIDL0004: { severity: 'error', title: 'invalid number literal' },
  VIDL0005: { severity: 'error', title: 'invalid escape sequence in string' },
  VIDL0010: { severity: 'error', title: 'unexpected token' },
  VIDL0011: { severity: 'error', title: 'missing library declaration' },
  VIDL0012: { severity: 'error', title: 'misplaced library or import declaration' },
  VIDL0013: { severity: 'error', title: 'unknown attribute' },
  VIDL0014: { severity: 'error', title: 'invalid use of an attribute' },
  VIDL0015: { severity: 'error', title: 'one-way method or event with a response' },
  VIDL0016: { severity: 'warning', title: 'doc comment attached to nothing' },
  VIDL0017: { severity: 'error', title: 'error type without a response' },
  VIDL0101: { severity: 'error', title: 'unknown name' },
  VIDL0102: { severity: 'error', title: 'duplicate declaration' },
  VIDL0103: { severity: 'error', title: 'duplicate member name' },
  VIDL0104: { severity: 'error', title: 'imported library not found' },
  VIDL0105: { severity: 'error', title: 'library used without an import' },
  VIDL0106: { severity: 'error', title: 'duplicate or self import' },
  VIDL0107: { severity: 'error', title: 'import cycle' },
  VIDL0108: { severity: 'warning', title: 'unused import' },
  VIDL0109: { severity: 'error', title: 'name refers to the wrong kind of declaration' },
  VIDL0110: { severity: 'error', title: 'reserved name' },
  VIDL0201: { severity: 'error', title: 'type contains itself without an optional or vector break' },
  VIDL0202: { severity: 'error', title: 'invalid size bound' },
  VIDL0203: { severity: 'error', title: 'client<P> or server<P> does not name a protocol' },
  VIDL0204: { severity: 'error', title: 'error type is not an enum or an integer type' },
  VIDL0205: { severity: 'error', title: 'wrong number of type arguments' },
  VIDL0206: { severity: 'error', title: 'type argument of the wrong kind' },
  VIDL0207: { severity: 'error', title: 'constant of a type constants cannot have' },
  VIDL0208: { severity: 'error', title: 'constant value does not fit its type' },
  VIDL0209: { severity: 'error', title: 'constant defined in terms of itself' },
  VIDL0301: { severity: 'error', title: 'enum or bits underlying type is not an integer type' },
  VIDL0302: { severity: 'error', title: 'member value does not fit the underlying type' },
  VIDL0303: { severity: 'error', title: 'duplicate member value' },
  VIDL0304: { severity: 'error', title: 'bits member is not a power of two' },
  VIDL0305: { severity: 'error', title: 'duplicate union tag' },
  VIDL0306: { severity: 'error', title: 'union tag out of range' },
  VIDL0307: { severity: 'error', title: 'enum, bits or union without members' },
  VIDL0401: { severity: 'error', title: 'method ordinal collision' },
  VIDL0402: { severity: 'error', title: 'message type collision (low 32 bits of two ordinals)' },
  VIDL0403: { severity: 'error', title: 'message type in the reserved range' },
  VIDL0404: { severity: 'error', title: 'invalid selector' },
  VIDL0405: { severity: 'error', title: 'event carries a capability' },
  VIDL0406: { severity: 'warning', title: "message can exceed the kernel's large-message limit" },
  VIDL0501: { severity: 'error', title: 'generated name collision' },
  VIDL0901: { severity: 'error', title: 'file is not valid UTF-8' },
} as const satisfies Record<string, DiagnosticCodeInfo>;

/** A stable diagnostic code such as `VIDL0101`. */
export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

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

  /** Reports a problem with the code's default severity. */
  report(code: DiagnosticCode, span: Span, message: string, related: readonly RelatedInformation[] = []): void {
    this.#items.push({ code, severity: DIAGNOSTIC_CODES[code].severity, message, span, related });
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
