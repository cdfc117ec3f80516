import { conformance } from '@veridian/testkit';
import { outsider64 } from '../src/index.ts';

conformance(
  { name: outsider64.name, arch: outsider64 },
  {
    golden: {
      fastPath: new URL('../golden/fast-path.json', import.meta.url),
      pageTable: new URL('../golden/page-table.json', import.meta.url),
    },
  },
);
