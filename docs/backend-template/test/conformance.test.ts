import { conformance } from '@veridian/testkit';
import { toy } from '../src/index.ts';

conformance(
  { name: 'toy', arch: toy },
  {
    // Drop 'mmu' once createMmu is your own page tables, and add golden.pageTable.
    unsupported: ['mmu'],
    golden: { fastPath: new URL('../golden/fast-path.json', import.meta.url) },
  },
);
