/** The record of a pending range (`pending.ts`): words in its process's VM frame. */

/** Pending-range records in a process's VM frame (after its free extents): count at word 1. */
export const COUNT = 1;
export const PENDING_BASE = 768;
export const REC = 8;
/** Pending ranges one process holds at once. */
export const MAX_PENDING = (1024 - PENDING_BASE) / REC;
/** Record words. */
export const R_FIRST = 0;
export const R_PAGES = 1;
/** Descriptor frame whose list frames hold the entries (it belongs to the range now). */
export const R_DESC = 2;
/** Entries still pending. */
export const R_LEFT = 3;
/** 1 when every page may be moved on (writable, or copy-on-write). */
export const R_MOVABLE = 4;
/** 1 while a Move in flight parks the range (it may not be adopted by another). */
export const R_BUSY = 5;
/** 1 when every entry is already what a Share's receiver gets (read-only, copy-on-write where writable): a Share of the range untouched links its lists. */
export const R_FORM = 6;
