/** The shared VeridianOS conformance suite (`@veridian/testkit`) against this backend (Sv39), with this package's own golden vectors. */
import { conformance } from '@veridian/testkit';
import { riscv64 } from '../src/index.ts';

conformance(
  { name: 'riscv64', arch: riscv64 },
  { golden: { fastPath: new URL('../golden/fast-path.json', import.meta.url), pageTable: new URL('../golden/page-table.json', import.meta.url) } },
);
