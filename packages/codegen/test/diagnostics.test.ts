import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compile } from '../src/compiler.ts';
import { DIAGNOSTIC_CODES, RETIRED_DIAGNOSTIC_CODES, diagnosticToJson, formatDiagnostic, formatDiagnostics, formatMessage, sortDiagnostics } from '../src/diagnostics.ts';
import { escapeControls, shouldUseColor, style } from '../src/terminal.ts';

describe('diagnostics', () => {
  const result = compile([{ path: 'x.vidl', contents: 'library x;\n\tstruct S { a: Nope; }\n' }]);
  const [d] = result.diagnostics;

  it('renders code, message, file:line:col and a caret under the span (tabs expanded)', () => {
    expect(formatDiagnostic(d!, result.sources)).toBe(
      ["error[VIDL0101]: unknown name 'Nope' in library x", ' --> x.vidl:2:16', '  |', '2 |     struct S { a: Nope; }', '  |                   ^^^^'].join('\n'),
    );
  });

  it('colours only when asked', () => {
    expect(formatDiagnostic(d!, result.sources, { color: true })).toContain('\u001b[');
    expect(formatDiagnostic(d!, result.sources)).not.toContain('\u001b[');
  });

  it('escapes control characters in every echoed line, keeping the caret under the span', () => {
    const r = compile([{ path: 'esc\u0007.vidl', contents: 'library x;\n// \u001b]0;pwned\u0007 \u001b[2J\u202e\nstruct S { a: Nope; } // \u001b[31m\n' }]);
    const text = formatDiagnostics(r.diagnostics, r.sources);
    // eslint-disable-next-line no-control-regex -- the test looks for raw control characters
    expect(text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f\u202e]/u);
    expect(text).toContain(' --> esc\\x07.vidl:3:15');
    expect(text).toContain('3 | struct S { a: Nope; } // \\x1b[31m');
    expect(text).toContain('  |               ^^^^');
    const unexpected = compile([{ path: 'u.vidl', contents: 'library x;\nstruct S { \u001b[2Ja: u8; }\n' }]);
    expect(formatDiagnostics(unexpected.diagnostics, unexpected.sources)).toContain('2 | struct S { \\x1b[2Ja: u8; }\n  |            ^^^^');
    expect(escapeControls('a\tb\u0000\u009b\u2067')).toBe('a\tb\\x00\\x9b\\u{2067}');
  });

  it('styles with plain ANSI codes whatever process.stdout is', () => {
    expect(style(['red', 'bold'], 'x')).toBe('\u001b[31m\u001b[1mx\u001b[22m\u001b[39m');
  });

  it('gates colour on TTY, NO_COLOR and FORCE_COLOR', () => {
    expect(shouldUseColor({ isTTY: true }, { TERM: 'dumb' })).toBe(false);
    expect(shouldUseColor({ isTTY: true }, {})).toBe(true);
    expect(shouldUseColor({ isTTY: false }, {})).toBe(false);
    expect(shouldUseColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(shouldUseColor({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(shouldUseColor({ isTTY: true }, { FORCE_COLOR: '0' })).toBe(false);
  });

  it('has a JSON form with position and related locations', () => {
    const dup = compile([{ path: 'd.vidl', contents: 'library d;\nstruct S {}\nstruct S {}' }]);
    expect(diagnosticToJson(dup.diagnostics[0]!)).toEqual({
      code: 'VIDL0102',
      severity: 'error',
      message: 'S is already declared in library d',
      file: 'd.vidl',
      line: 3,
      col: 8,
      offset: 30,
      length: 1,
      related: [{ message: 'first declared here', file: 'd.vidl', line: 2, col: 8, offset: 18, length: 1 }],
    });
  });

  it('sorts by file and position and summarises counts', () => {
    const r = compile([
      { path: 'b.vidl', contents: 'library b;\nstruct S { a: X; }' },
      { path: 'a.vidl', contents: 'library a;\nstruct S { a: Y; b: Z; }\n///' },
    ]);
    expect(sortDiagnostics(r.diagnostics).map((x) => `${x.span.file}:${x.span.line}:${x.span.col}`)).toEqual(['a.vidl:2:15', 'a.vidl:2:21', 'a.vidl:3:1', 'b.vidl:2:15']);
    expect(formatDiagnostics(r.diagnostics, r.sources).split('\n').pop()).toBe('3 errors, 1 warning');
  });

  it('IDL.md documents every diagnostic code with its severity, title and message template', () => {
    const idl = readFileSync(new URL('../IDL.md', import.meta.url), 'utf8');
    for (const [code, info] of Object.entries(DIAGNOSTIC_CODES)) {
      const esc = (t: string) => t.replaceAll('|', '\\|');
      expect(idl, code).toContain(`| ${code} | ${info.severity} | ${esc(info.title)} | \`${esc(info.message)}\` |`);
    }
  });

  it('fills each code’s one template; retired codes are never in use again', () => {
    expect(formatMessage('VIDL0102', { name: 'S', library: 'd' })).toBe('S is already declared in library d');
    expect(() => formatMessage('VIDL0102', { name: 'S' } as never)).toThrow('no value for {library}');
    for (const code of Object.keys(RETIRED_DIAGNOSTIC_CODES)) expect(DIAGNOSTIC_CODES).not.toHaveProperty(code);
    // Every message that is reported reads as its code's template with the placeholders filled in.
    const r = compile([{ path: 'm.vidl', contents: 'library m;\nimport m;\nstruct S { a: Nope; a: u8; }\nenum E : u8 { A = 1; B = 300; }\n@selector\nstruct T {}\n' }]);
    expect(r.diagnostics.length).toBeGreaterThan(3);
    for (const d of r.diagnostics) {
      const pattern = DIAGNOSTIC_CODES[d.code].message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\{[A-Za-z]+\\\}/g, '.*');
      expect(d.message, d.code).toMatch(new RegExp(`^${pattern}$`));
    }
  });
});
