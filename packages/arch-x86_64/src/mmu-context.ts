import type { FaultHandlerList } from '@veridian/core';
import type { FrameRanges } from './frame-range.js';
import type { PageTables } from './page-table.js';
import type { SharedState } from './shared-state.js';
import type { Tlb } from './tlb.js';

/** What an address space shares with its MMU instance. */
export interface MmuContext {
  readonly tables: PageTables;
  /** The per-frame range operations (scratch shared by this instance's spaces, used under the lock). */
  readonly ranges: FrameRanges;
  readonly shared: SharedState;
  readonly tlb: Tlb;
  /** The fault handlers (the MMU adds and removes). */
  readonly handlers: FaultHandlerList;
  /** MAXPHYADDR: physical-address width in bits (32–52). */
  readonly maxPhysAddr: number;
  /** CR0.WP: supervisor writes honour R/W. */
  readonly writeProtect: boolean;
}

