/**
 * The suite against core's minimal test arch, so it can be developed and checked without the
 * real backends. The test arch has a flat software page table and no golden vectors, so it
 * declares the MMU area and the golden frames unsupported.
 */
import { conformance } from '../src/index.ts';
import { testArch } from '../../core/test/support/test-arch.ts';

conformance({ name: 'test', arch: testArch }, { unsupported: ['mmu', 'fast.golden-frames'] });
