import { describe, expect, it } from 'vitest';
import { DiagnosticBag } from '../src/diagnostics.ts';
import { tokenize } from '../src/lexer.ts';
import { SourceText } from '../src/source.ts';

function lex(text: string) {
  const diagnostics = new DiagnosticBag();
  const tokens = tokenize(new SourceText('t.vidl', text), diagnostics);
  return { tokens, diagnostics: diagnostics.items };
}

describe('lexer', () => {
  it('splits punctuation, names, arrows and keeps spans', () => {
    const { tokens, diagnostics } = lex('protocol P {\n  m(a: u8) -> (b: T?);\n}');
    expect(diagnostics).toEqual([]);
    expect(tokens.map((t) => t.kind)).toEqual([
      'identifier', 'identifier', 'lbrace',
      'identifier', 'lparen', 'identifier', 'colon', 'identifier', 'rparen', 'arrow', 'lparen', 'identifier', 'colon', 'identifier', 'question', 'rparen', 'semicolon',
      'rbrace', 'eof',
    ]);
    const arrow = tokens.find((t) => t.kind === 'arrow')!;
    expect(arrow.span).toEqual({ file: 't.vidl', line: 2, col: 12, offset: 24, length: 2 });
  });

  it('reads decimal, hex, binary, negative, separated and float numbers', () => {
    const { tokens, diagnostics } = lex('42 0xff_ff 0b101 -7 1_000 -0x10 1.5 2e3 -2.5e-1');
    expect(diagnostics).toEqual([]);
    expect(tokens.filter((t) => t.kind === 'integer').map((t) => t.integer)).toEqual([42n, 0xffffn, 5n, -7n, 1000n, -16n]);
    expect(tokens.filter((t) => t.kind === 'float').map((t) => t.float)).toEqual([1.5, 2000, -0.25]);
  });

  it('unescapes strings', () => {
    const { tokens } = lex(String.raw`"a\"b\\c\n\t\u{1F600}"`);
    expect(tokens[0]!.value).toBe('a"b\\c\n\t😀');
  });

  it('keeps /// doc comments, drops // and /* */ comments', () => {
    const { tokens } = lex('/// doc line\n// plain\n/* block\n*/ //// not doc\nx');
    expect(tokens.map((t) => [t.kind, t.value ?? t.text])).toEqual([
      ['doc', 'doc line'],
      ['identifier', 'x'],
      ['eof', ''],
    ]);
  });

  it('reports every bad token and goes on', () => {
    const { tokens, diagnostics } = lex('a # b 0x "open\n c /* never');
    expect(diagnostics.map((d) => d.code)).toEqual(['VIDL0001', 'VIDL0004', 'VIDL0002', 'VIDL0003']);
    expect(tokens.filter((t) => t.kind === 'identifier').map((t) => t.text)).toEqual(['a', 'b', 'c']);
  });

  it('reports a character outside the BMP once, with its code point', () => {
    const { diagnostics } = lex('a 😀 b');
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]!.message).toContain('U+1F600');
  });
});
