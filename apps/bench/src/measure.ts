import { isUnsupported } from './kernel-benches.js';
import { missingRow, rowOf, type Row } from './report.js';
import type { Measurement } from './sampler.js';

/**
 * Runs one measurement and turns it into a report row: `unsupported` when the kernel refuses
 * the path (with its reason), `failed` (and the reason pushed onto `failures`) when it throws.
 */
export async function measureRow(id: string, arch: string, run: () => unknown, extra: Partial<Row>, failures: string[]): Promise<Row> {
  try {
    const m = (await run()) as Measurement | { unsupported: string };
    return isUnsupported(m) ? missingRow(id, arch, 'unsupported', m.unsupported, extra) : rowOf(id, arch, m as Measurement & Record<string, unknown>, extra);
  } catch (e) {
    const reason = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    failures.push(`${id} (${arch}): ${reason}`);
    return missingRow(id, arch, 'failed', reason, extra);
  }
}
