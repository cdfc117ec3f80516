/** The shared VeridianOS conformance suite (`@veridian/testkit`) against this backend, with this package's own golden vectors. */
import { conformance } from '@veridian/testkit';
import { x86_64 } from '../src/index.ts';

conformance(
  { name: 'x86_64', arch: x86_64 },
  { golden: { fastPath: new URL('../golden/fast-path.json', import.meta.url), pageTable: new URL('../golden/page-table.json', import.meta.url) } },
);
