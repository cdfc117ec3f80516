/** `vidl layout --arch` takes its limits from a backend's `Arch`: a name, a package, or a module path. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { riscv64 } from '@veridian/arch-riscv64';
import { archLimits, isArch, loadArch, resolveArches } from '../src/arch.ts';
import { runCli } from '../src/run-cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'vidl-arch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// A backend outside every package: two data registers (16 bytes) and one capability slot.
writeFileSync(
  join(dir, 'tiny-arch.mjs'),
  `const layout = { syscall: { reg: 0, half: 0 }, endpoint: { reg: 1, half: 0 }, sender: { reg: 1, half: 1 }, info: { reg: 2, half: 0 }, type: { reg: 2, half: 1 }, caps: [{ reg: 3, half: 0 }], data: [4, 5] };
export const tiny = { name: 'tiny', exportName: 'tiny', pageSizes: [4096], fastPath: { layout }, createMmu() { throw new Error('no MMU'); } };
export const other = { ...tiny, name: 'other', exportName: 'other' };
`,
);
writeFileSync(join(dir, 'svc.vidl'), 'library demo.tiny;\n\nprotocol P {\n  small(a: u64) -> (b: u64);\n  big(a: array<u8, 32>) -> ();\n}\n');

function io() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (t: string) => (out.stdout += t) }, stderr: { write: (t: string) => (out.stderr += t) }, cwd: dir, env: { NO_COLOR: '1' } } };
}

describe('arches from Arch objects', () => {
  it('reads the limits from the fast-path layout', () => {
    expect(archLimits(riscv64)).toEqual({ name: 'riscv64', maxSmallData: 64, maxSmallCaps: 4 });
    expect(isArch(riscv64)).toBe(true);
    expect(isArch({ name: 'x' })).toBe(false);
  });

  it('loads by arch name, package name, module path and module path#export', async () => {
    for (const spec of ['riscv64', '@veridian/arch-riscv64', 'x86_64', 'aarch64']) expect((await loadArch(spec, dir)).name, spec).toBe(spec.replace('@veridian/arch-', ''));
    expect(archLimits(await loadArch('./tiny-arch.mjs', dir))).toEqual({ name: 'tiny', maxSmallData: 16, maxSmallCaps: 1 });
    expect((await loadArch(join(dir, 'tiny-arch.mjs#other'), dir)).name).toBe('other');
    await expect(loadArch('mips', dir)).rejects.toThrow(/unknown arch 'mips'/);
    await expect(loadArch('./tiny-arch.mjs#nope', dir)).rejects.toThrow(/no Arch export 'nope'/);
  });

  it('all = every installed @veridian/arch-* package, the three backends here', async () => {
    expect((await resolveArches('all', dir)).map((a) => a.name)).toEqual(['aarch64', 'riscv64', 'x86_64']);
  });

  it('vidl layout --arch takes a module path and judges the fast path by its limits', async () => {
    const { out, io: cli } = io();
    expect(await runCli(['layout', '--arch', './tiny-arch.mjs', '--json', 'svc.vidl'], cli)).toBe(0);
    const report = JSON.parse(out.stdout) as { layout: { arches: Array<{ name: string }>; libraries: Array<{ methods: Array<{ method: string; request: { paths: Record<string, string> } }> }> } };
    expect(report.layout.arches.map((a) => a.name)).toEqual(['tiny']);
    const m = Object.fromEntries(report.layout.libraries[0]!.methods.map((x) => [x.method, x.request.paths]));
    expect(m).toEqual({ small: { tiny: 'fast' }, big: { tiny: 'large' } });
    const r = io();
    expect(await runCli(['layout', '--arch', 'riscv64', 'svc.vidl'], r.io)).toBe(0);
    expect(r.out.stdout).toContain('riscv64');
    const bad = io();
    expect(await runCli(['layout', '--arch', 'mips', 'svc.vidl'], bad.io)).not.toBe(0);
    expect(bad.out.stderr).toContain("unknown arch 'mips'");
  });
});
