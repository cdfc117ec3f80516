// What the adversarial suites share: compile with every diagnostic checked to be located, and
// typecheck generated code under the strictest options.
import { resolve } from 'node:path';
import { expect } from 'vitest';
import { compile, generate, type SourceInput } from '../../src/compiler.ts';
import { PACKAGE_ROOT } from './compile-files.ts';
import { typecheck } from './typecheck.ts';

/** Compiles `files` (named `<prefix>0.vidl`, …); every diagnostic must carry a VIDL code and a line. */
export function run(prefix: string, ...files: Array<string | Uint8Array>): ReturnType<typeof compile> {
  const inputs: SourceInput[] = files.map((contents, i) => ({ path: `${prefix}${i}.vidl`, contents }));
  const r = compile(inputs);
  for (const d of r.diagnostics) {
    expect(d.code).toMatch(/^VIDL\d{4}$/);
    expect(d.span).toBeDefined();
    expect(d.span.line).toBeGreaterThanOrEqual(1);
  }
  return r;
}

/** The diagnostic codes of a compile, in order. */
export const codes = (r: ReturnType<typeof compile>): string[] => r.diagnostics.map((d) => d.code);

let vn = 0;
/** TypeScript errors of the generated code, under noUnused*, exactOptionalPropertyTypes and noUncheckedIndexedAccess. */
export function strictTypecheck(r: ReturnType<typeof compile>, tag: string): ReturnType<typeof typecheck> {
  const virtual = new Map<string, string>();
  for (const m of generate(r)) virtual.set(resolve(PACKAGE_ROOT, `test/.virtual/${tag}_${vn}/${m.fileName}`), m.text);
  vn++;
  return typecheck([...virtual.keys()], { exactOptionalPropertyTypes: true, noUnusedLocals: true, noUnusedParameters: true, noUncheckedIndexedAccess: true }, virtual);
}

/** `src` compiles without errors and its generated code typechecks strictly. */
export function validGen(prefix: string, src: string): void {
  const r = run(prefix, src);
  expect(r.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code} ${d.message}`)).toEqual([]);
  expect(strictTypecheck(r, prefix)).toEqual([]);
}
