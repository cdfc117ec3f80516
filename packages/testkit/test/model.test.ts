/**
 * Checks on the model-based property itself: the generated programs reach every outcome the
 * invariants are about (so a passing property means something), and the runner notices a
 * kernel that delivers wrong data.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createKernel, type Arch, type KernelOptions } from '@veridian/core';
import { programArbitrary, type Step } from '../src/model/program.ts';
import { ModelMismatch, runProgram } from '../src/model/runner.ts';
import { testArch } from '@veridian/core/testing';

const kernelOver = (arch: Arch) => (options: Partial<KernelOptions>) => createKernel({ arch, ...options });

describe('model-based property', () => {
  it('random programs reach every outcome the invariants talk about', async () => {
    const seen = new Set<string>();
    for (const steps of fc.sample(programArbitrary(40), { numRuns: 80, seed: 20240601 })) {
      await runProgram(kernelOver(testArch), steps, (o) => seen.add(o));
    }
    const outcomes = [...seen].join('\n');
    for (const wanted of [
      'completion: delivered with capabilities',
      'completion: delivered with no capabilities',
      'completion: replied with no capabilities',
      'completion: sent',
      'completion: Timeout',
      'receive: at once',
      'send: at once',
      'call: blocks',
      'receive: blocks',
      'reply: ok',
      'revoke: ok',
      'close: ok',
      'derive: ok',
      'grant: ok',
    ]) {
      expect(seen, `outcome "${wanted}" among:\n${outcomes}`).toContain(wanted);
    }
    for (const code of ['ChannelFull', 'MessageTooLarge', 'PermissionDenied', 'InvalidCapability', 'OutOfMemory', 'ProcessNotFound', 'InvalidState']) {
      expect(outcomes, `some syscall failed with ${code}`).toMatch(new RegExp(`: (\\w+\\|)*${code}`));
    }
  });

  it('reports a kernel that corrupts a delivered payload', async () => {
    const fp = testArch.fastPath;
    const corrupting: Arch = {
      ...testArch,
      fastPath: {
        ...fp,
        encode: (...args) => fp.encode(...args),
        decode(frame, out) {
          fp.decode(frame, out);
          if (out.length > 2) out.bytes[2]! ^= 0x01;
        },
      },
      createMmu: (phys, options) => testArch.createMmu(phys, options),
    };
    const held0 = { pick: 'fit' as const, index: 0, forged: 0 };
    const steps: Step[] = [
      { kind: 'receive', who: 0, cap: held0, timeout: 20_000 },
      { kind: 'call', who: 0, cap: held0, length: 8, caps: [], timeout: 20_000 },
    ];
    await runProgram(kernelOver(testArch), steps);
    await expect(runProgram(kernelOver(corrupting), steps)).rejects.toBeInstanceOf(ModelMismatch);
  });
});
