export { MmuSharedState, ShootdownReader, ShootdownKind, SHOOTDOWN_SLOTS, type ShootdownTarget, type MmuSharedStateOptions } from './shared-state.js';
export { FaultHandlerList } from './fault-handlers.js';
export { checkAttach, checkTlbShape, checkCpu } from './attach.js';
export { formatSize, formatAddress, formatMappings, type DumpOptions } from './dump.js';
export { TableReclaim, LIMBO_CAPACITY, RECLAIM_CPUS, type TableReclaimWords } from './table-reclaim.js';
export { tableFramesBound } from './table-bound.js';
