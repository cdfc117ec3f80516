/**
 * `@veridian/testkit`: the conformance suite every VeridianOS IPC backend runs — one vitest
 * test per stable case id, golden register and page-table vectors supplied by each backend, and a
 * model-based property over random syscall programs.
 * @packageDocumentation
 */
export { conformance, type ConformanceBackend, type ConformanceOptions } from './conformance.js';
export {
  AREAS,
  CASE_IDS,
  LANDED_CASES,
  PENDING_AREAS,
  areaOf,
  type Area,
  type CaseId,
  type LandedArea,
  type LandedCaseId,
  type PendingArea,
  type PendingAreaSpec,
  type PendingCaseId,
} from './case-ids.js';
export { readGolden, checkGolden, type FastPathGolden, type PageTableGolden, type AttributeGolden, type GoldenKind, type GoldenSet, type GoldenSource } from './golden.js';
