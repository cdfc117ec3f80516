import { KERNEL_LIMITS, type ArchLimits } from './arch.js';
import type { DiagnosticBag } from './diagnostics.js';
import { exceedsKernelLimits, Layout, type MessageLayout } from './layout.js';
import type { ProgramModel } from './model.js';

const MIB = 1 << 20;
/** Register-path limits for computing bounds only (they do not affect the kernel-limit check). */
const ANY_ARCH: ArchLimits = { name: 'any', maxSmallData: 64, maxSmallCaps: 4 };
const bytes = (n: number) => (n % MIB === 0 ? `${n / MIB} MiB` : n >= MIB ? `${n} bytes (${(n / MIB).toFixed(1)} MiB)` : `${n} bytes`);

/**
 * Warns (VIDL0406) about every request, reply or event whose declared bounds allow more than
 * the kernel's large-message path carries (1 MiB of payload, 64 capabilities): such a message
 * fails with `MessageTooLarge` once it is that big. Runs on a program without errors.
 */
export function checkMessageLimits(program: ProgramModel, diagnostics: DiagnosticBag): void {
  // The kernel limits do not depend on the arch; a message's bounds are the same on all of them.
  const layout = new Layout([ANY_ARCH]);
  for (const library of program.libraries) {
    for (const decl of library.declarations) {
      if (decl.kind !== 'protocol') continue;
      const layouts = layout.protocol(decl);
      decl.methods.forEach((method, i) => {
        const { request, reply } = layouts[i]!;
        const messages: Array<[string, MessageLayout]> = [[method.kind === 'event' ? 'event' : 'request', request]];
        if (reply) messages.push(['reply', reply]);
        for (const [what, message] of messages) {
          if (!exceedsKernelLimits(message)) continue;
          const data = Number.isFinite(message.maxSize) && message.maxSize > KERNEL_LIMITS.maxLargeData;
          diagnostics.report('VIDL0406', method.span, {
            message: what,
            method: `${decl.name}.${method.name}`,
            size: data ? bytes(message.maxSize) : `${message.maxCaps} capabilities`,
            limit: data ? bytes(KERNEL_LIMITS.maxLargeData) : `${KERNEL_LIMITS.maxLargeCaps} capabilities`,
          });
        }
      });
    }
  }
}
