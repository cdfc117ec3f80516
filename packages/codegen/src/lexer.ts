import type { DiagnosticBag } from './diagnostics.js';
import type { SourceText, Span } from './source.js';

/** Kinds of token. Keywords are not separate kinds: the parser reads them from identifiers by context. */
export type TokenKind =
  | 'identifier'
  | 'integer'
  | 'float'
  | 'string'
  | 'doc'
  | 'lbrace'
  | 'rbrace'
  | 'lparen'
  | 'rparen'
  | 'langle'
  | 'rangle'
  | 'comma'
  | 'semicolon'
  | 'colon'
  | 'equals'
  | 'question'
  | 'dot'
  | 'at'
  | 'arrow'
  | 'eof';

/** A token: its kind, the source text it covers and its value for literals. */
export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly span: Span;
  /** Integer literals: the value (negative literals carry their sign). */
  readonly integer?: bigint;
  /** Float literals: the value. */
  readonly float?: number;
  /** String literals: the unescaped value. Doc comments: the text after `///`. */
  readonly value?: string;
}

const PUNCTUATION: Readonly<Record<string, TokenKind>> = {
  '{': 'lbrace',
  '}': 'rbrace',
  '(': 'lparen',
  ')': 'rparen',
  '<': 'langle',
  '>': 'rangle',
  ',': 'comma',
  ';': 'semicolon',
  ':': 'colon',
  '=': 'equals',
  '?': 'question',
  '.': 'dot',
  '@': 'at',
};

/** Human name of a token kind for "expected …" messages. */
export function describeTokenKind(kind: TokenKind): string {
  switch (kind) {
    case 'identifier':
      return 'a name';
    case 'integer':
      return 'an integer';
    case 'float':
      return 'a number';
    case 'string':
      return 'a string';
    case 'doc':
      return 'a doc comment';
    case 'arrow':
      return "'->'";
    case 'eof':
      return 'end of file';
    default:
      return `'${Object.keys(PUNCTUATION).find((p) => PUNCTUATION[p] === kind) ?? kind}'`;
  }
}

const isIdentStart = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c === '_';
const isIdentPart = (c: string) => isIdentStart(c) || (c >= '0' && c <= '9');
const isDigit = (c: string) => c >= '0' && c <= '9';

/**
 * Splits a file into tokens. Never throws: a bad character, an unterminated string or
 * comment, or a malformed number is reported and skipped, and lexing goes on.
 */
export function tokenize(source: SourceText, diagnostics: DiagnosticBag): Token[] {
  const text = source.text;
  const tokens: Token[] = [];
  let i = 0;
  const push = (kind: TokenKind, start: number, extra: { integer?: bigint; float?: number; value?: string } = {}) => {
    tokens.push({ kind, text: text.slice(start, i), span: source.span(start, i - start), ...extra });
  };

  while (i < text.length) {
    const c = text[i]!;
    const start = i;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v' || c === '\ufeff') {
      i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      const isDoc = text[i + 2] === '/' && text[i + 3] !== '/';
      while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++;
      if (isDoc) {
        const body = text.slice(start + 3, i);
        push('doc', start, { value: body.startsWith(' ') ? body.slice(1) : body });
      }
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) {
        diagnostics.report('VIDL0003', source.span(start, 2), {});
        i = text.length;
      } else i = end + 2;
      continue;
    }
    if (isIdentStart(c)) {
      while (i < text.length && isIdentPart(text[i]!)) i++;
      push('identifier', start);
      continue;
    }
    if (isDigit(c) || (c === '-' && isDigit(text[i + 1] ?? ''))) {
      lexNumber();
      continue;
    }
    if (c === '-' && text[i + 1] === '>') {
      i += 2;
      push('arrow', start);
      continue;
    }
    if (c === '"') {
      lexString();
      continue;
    }
    const kind = PUNCTUATION[c];
    if (kind) {
      i++;
      push(kind, start);
      continue;
    }
    const code = text.codePointAt(i)!;
    const width = code > 0xffff ? 2 : 1;
    diagnostics.report('VIDL0001', source.span(start, width), { char: JSON.stringify(String.fromCodePoint(code)), codePoint: code.toString(16).toUpperCase().padStart(4, '0') });
    i += width;
  }
  tokens.push({ kind: 'eof', text: '', span: source.span(text.length, 0) });
  return tokens;

  function lexNumber(): void {
    const start = i;
    const negative = text[i] === '-';
    if (negative) i++;
    let radix = 10;
    if (text[i] === '0' && (text[i + 1] === 'x' || text[i + 1] === 'X')) {
      radix = 16;
      i += 2;
    } else if (text[i] === '0' && (text[i + 1] === 'b' || text[i + 1] === 'B')) {
      radix = 2;
      i += 2;
    }
    const digitsStart = i;
    const isRadixDigit = (ch: string) => ch === '_' || (Number.isInteger(parseInt(ch, radix)) && parseInt(ch, radix) < radix && /[0-9a-fA-F]/.test(ch));
    while (i < text.length && isRadixDigit(text[i]!)) i++;
    let isFloat = false;
    if (radix === 10 && text[i] === '.' && isDigit(text[i + 1] ?? '')) {
      isFloat = true;
      i++;
      while (i < text.length && (isDigit(text[i]!) || text[i] === '_')) i++;
    }
    if (radix === 10 && (text[i] === 'e' || text[i] === 'E') && (isDigit(text[i + 1] ?? '') || ((text[i + 1] === '+' || text[i + 1] === '-') && isDigit(text[i + 2] ?? '')))) {
      isFloat = true;
      i += 2;
      while (i < text.length && isDigit(text[i]!)) i++;
    }
    const written = text.slice(digitsStart, i);
    const trailing = i;
    while (i < text.length && isIdentPart(text[i]!)) i++;
    // `_` only between digits: not at either end, not doubled, not beside `.` or an exponent.
    const valid = written.length > 0 && trailing === i && !written.startsWith('_') && !written.endsWith('_') && !written.includes('__') && !/_[.eE]|[.eE][_+-]?_/.test(radix === 10 ? written : '');
    const kindName = radix === 16 ? 'hexadecimal' : radix === 2 ? 'binary' : 'decimal';
    if (!valid) {
      diagnostics.report('VIDL0004', source.span(start, i - start), { base: kindName, text: JSON.stringify(text.slice(start, i)) });
      push('integer', start, { integer: 0n });
      return;
    }
    const digits = written.replaceAll('_', '');
    if (isFloat) {
      const value = Number(digits) * (negative ? -1 : 1);
      push('float', start, { float: value });
      return;
    }
    const prefix = radix === 16 ? '0x' : radix === 2 ? '0b' : '';
    const magnitude = BigInt(prefix + digits);
    push('integer', start, { integer: negative ? -magnitude : magnitude });
  }

  function lexString(): void {
    const start = i;
    i++;
    let value = '';
    for (;;) {
      if (i >= text.length || text[i] === '\n' || text[i] === '\r') {
        diagnostics.report('VIDL0002', source.span(start, i - start), {});
        push('string', start, { value });
        return;
      }
      const ch = text[i]!;
      if (ch === '"') {
        i++;
        push('string', start, { value });
        return;
      }
      if (ch !== '\\') {
        value += ch;
        i++;
        continue;
      }
      const escapeStart = i;
      const next = text[i + 1];
      i += 2;
      switch (next) {
        case '"':
        case '\\':
          value += next;
          break;
        case 'n':
          value += '\n';
          break;
        case 't':
          value += '\t';
          break;
        case 'r':
          value += '\r';
          break;
        case 'u': {
          const match = /^\{([0-9a-fA-F]{1,6})\}/.exec(text.slice(i));
          const code = match ? parseInt(match[1]!, 16) : NaN;
          if (match && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff)) {
            value += String.fromCodePoint(code);
            i += match[0].length;
            break;
          }
          diagnostics.report('VIDL0005', source.span(escapeStart, 2), { escape: `'${text.slice(escapeStart, i + (match ? match[0].length : 0))}'` });
          break;
        }
        default:
          if (next === undefined || next === '\n' || next === '\r') {
            i--;
            diagnostics.report('VIDL0005', source.span(escapeStart, 1), { escape: "'\\' at the end of the line" });
          } else diagnostics.report('VIDL0005', source.span(escapeStart, 2), { escape: `'\\${next}'` });
      }
    }
  }
}
