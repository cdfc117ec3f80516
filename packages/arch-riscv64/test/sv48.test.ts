/** The conformance suite again with Sv48 paging (four levels), with the Sv48 page-table goldens. */
import { conformance } from '@veridian/testkit';
import { riscv64Sv48 } from '../src/index.ts';

conformance(
  { name: 'riscv64-sv48', arch: riscv64Sv48 },
  { golden: { fastPath: new URL('../golden/fast-path.json', import.meta.url), pageTable: new URL('../golden/page-table-sv48.json', import.meta.url) } },
);
