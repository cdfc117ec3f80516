/**
 * The suite against core's minimal test arch (`@veridian/core/testing`), so it can be
 * developed and checked without the real backends. The test arch has a flat software page
 * table and no golden vectors: it declares the MMU area unsupported, and the golden frames
 * case skips itself for want of vectors.
 */
import { conformance } from '../src/index.ts';
import { testArch } from '@veridian/core/testing';

conformance({ name: 'test', arch: testArch }, { unsupported: ['mmu'] });
