import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_CODES, formatDiagnostics, type DiagnosticCode } from '../src/diagnostics.ts';
import { compileFiles, PACKAGE_ROOT } from './support/compile-files.ts';

/**
 * The bad-input gallery: test/gallery/<CODE>.vidl shows diagnostic CODE, and
 * <CODE>.expected holds the exact report (message, location and code frame).
 * Set UPDATE_GALLERY=1 to rewrite the .expected files after a deliberate change.
 */
const GALLERY = resolve(PACKAGE_ROOT, 'test/gallery');
const codes = Object.keys(DIAGNOSTIC_CODES) as DiagnosticCode[];

describe('bad-input gallery', () => {
  it('has exactly one .vidl and one .expected file per diagnostic code', () => {
    const entries = readdirSync(GALLERY).filter((f) => f.endsWith('.vidl') || f.endsWith('.expected'));
    const expected = codes.flatMap((c) => [`${c}.vidl`, `${c}.expected`]).sort();
    expect(entries.sort()).toEqual(expected);
  });

  it.each(codes)('%s', (code) => {
    const result = compileFiles([`test/gallery/${code}.vidl`], ['test/gallery/support']);
    const report = `${formatDiagnostics(result.diagnostics, result.sources)}\n`;
    const expectedPath = resolve(GALLERY, `${code}.expected`);
    if (process.env.UPDATE_GALLERY) writeFileSync(expectedPath, report);
    expect(report).toBe(readFileSync(expectedPath, 'utf8'));
    expect(result.diagnostics.map((d) => d.code)).toContain(code);
    expect(result.ok).toBe(DIAGNOSTIC_CODES[code].severity === 'warning');
  });
});
