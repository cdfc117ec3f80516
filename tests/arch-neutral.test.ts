/**
 * Core and testkit know no CPU (DESIGN.md, principle 2; ARCHITECTURE.md's arrows): no file of
 * theirs names an arch, a register or a page-table bit of a specific CPU. Everything
 * arch-shaped reaches them through an `Arch`. Core's sources are checked with their comments
 * stripped, and Markdown without its fenced code blocks: doc examples import a real backend, as a
 * user would.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;

const FORBIDDEN: ReadonlyArray<[string, RegExp]> = [
  ['an arch', /\b(x86(_64)?|amd64|i[3-6]86|ia-?32|aarch(32|64)|arm(64|v[0-9])|riscv(32|64)?|risc-v|rv(32|64)|sv(32|39|48|57)|intel|powerpc|ppc64|mips(64)?|loongarch|s390x?)\b/i],
  ['a register', /\b(rax|rbx|rcx|rdx|rsi|rdi|rbp|rsp|rip|eax|ebx|ecx|edx|esi|edi|x[0-9]|x[12][0-9]|x30|w[0-9]|sp_el[0-3]|elr_el[1-3]|spsr_el[1-3]|mepc|sepc)\b/i],
  ['a page-table bit or system register', /\b(pml[45]e?|pdpte?|ttbr[01](_el[12])?|tcr_el[12]|cr[0348]|pcid|mair(_el[12])?|satp|scause|stval|sfence(\.vma)?|invlpg|tlbi|esr(_el[12])?|dfsc|smap|smep|pkru|dbm|ap\[2\]|xd bit|nx bit)\b/i],
];

function files(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    if (e === 'node_modules' || e === 'dist' || e === 'reports') continue;
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else if (/\.(ts|md|json)$/.test(e) && e !== 'package.json' && e !== 'CHANGELOG.md') out.push(p);
  }
  return out;
}

/** Source with comments removed (line and block comments; strings are kept). */
const stripComments = (src: string) => src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
/** Markdown without its fenced code blocks (usage examples). */
const stripFences = (md: string) => md.replace(/^```[\s\S]*?^```/gm, '');

const checked = ['packages/core', 'packages/testkit'].flatMap((p) => files(join(root, p)));

describe('core and testkit know no CPU', () => {
  it('checks a real set of files', () => {
    expect(checked.length).toBeGreaterThan(50);
    expect(checked.some((f) => f.endsWith('packages/testkit/src/cases/mmu.ts'))).toBe(true);
  });

  for (const [what, pattern] of FORBIDDEN) {
    it(`no file names ${what}`, () => {
      const hits: string[] = [];
      for (const f of checked) {
        const rel = relative(root, f);
        const raw = readFileSync(f, 'utf8');
        const text = rel.startsWith('packages/core/src/') ? stripComments(raw) : rel.endsWith('.md') ? stripFences(raw) : raw;
        text.split('\n').forEach((line, i) => {
          const m = pattern.exec(line);
          if (m) hits.push(`${rel}:${i + 1}: ${m[0]}`);
        });
      }
      expect(hits).toEqual([]);
    });
  }

  it('the patterns catch what they are for', () => {
    const samples = ['import { x86_64 } from', 'RAX holds the number', 'bits 12-51 like PML4E', 'AArch64 TTBR0', 'satp.MODE', 'Sv39 addresses'];
    for (const s of samples) expect(FORBIDDEN.some(([, p]) => p.test(s)), s).toBe(true);
    for (const s of ['syscall number', 'the reg.svc endpoint', 'a 0x7f00 address', 'registers r0-r15 of the test arch']) expect(FORBIDDEN.some(([, p]) => p.test(s)), s).toBe(false);
  });
});
