/** What an Outsider-64 entry means to an access: the fault it raises (or none), and the mapping a leaf describes. */
import { AccessKind, type FaultReason, type PageMapping } from '@veridian/core';
import { A, D, G, HUGE, isLeaf, LAZY, LEVELS, markersOf, NR, NX, PAGE, PFN_MASK, PLV_MASK, PLV_USER, permsOf, T, V, W } from './pte.js';
import type { Slot } from './address.js';

/** The fault an access of `access` (by user code or not) raises on entry `e` met at `level`, or null when it is allowed. */
export function faultReason(e: number, level: number, access: AccessKind, user: boolean): FaultReason | null {
  if (e === 0) return 'not-present';
  if (e & V) {
    if (e & T) return level === LEVELS - 1 || (e & ~(PFN_MASK | V | T)) !== 0 ? 'reserved-bit' : 'not-present';
    if (level === 0) return 'reserved-bit';
    const plv = e & PLV_MASK;
    if (plv !== 0 && plv !== PLV_USER) return 'reserved-bit';
  } else {
    return e & LAZY ? 'lazy' : 'not-present';
  }
  if (user && (e & PLV_MASK) !== PLV_USER) return 'permission';
  if (access === AccessKind.Write) return e & W ? null : 'permission';
  if (access === AccessKind.Execute) return e & NX ? 'permission' : null;
  return e & NR ? 'permission' : null;
}

/** The mapping leaf slot `s` describes for `va`, or undefined when it is no leaf. */
export function mappingOf(va: number, s: Slot): PageMapping | undefined {
  const e = s.e;
  if (!isLeaf(e) || s.level === 0) return undefined;
  const size = s.level === 1 ? HUGE : PAGE;
  const base = va - (va % size);
  return { va: base, pa: (e & PFN_MASK) >>> 0, size, perms: permsOf(e), markers: markersOf(e), accessed: (e & A) !== 0, dirty: (e & D) !== 0, global: (e & G) !== 0, present: (e & V) !== 0 };
}
