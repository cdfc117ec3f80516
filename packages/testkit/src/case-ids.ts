/**
 * The stable ids of every conformance case, by area. This module has no test-runner
 * dependency, so tools (the `pnpm conformance` script, dashboards) can read the id list.
 */

/** Ids of the areas that have landed: each id is a real test every backend must pass. */
export const LANDED_CASES = {
  cap: [
    'cap.token-unforgeable',
    'cap.send-requires-right',
    'cap.receive-requires-right',
    'cap.derive-subset-only',
    'cap.grant-requires-right',
    'cap.transfer-requires-share',
    'cap.transfer-four-small',
    'cap.revoke-kills-derived',
    'cap.generation-never-aliases',
    'cap.cleanup-on-exit',
  ],
  reg: ['reg.lookup', 'reg.stale-id-rejected', 'reg.named-lookup', 'reg.cleanup-on-exit'],
  sync: [
    'sync.call-reply',
    'sync.payload-lengths-0-64',
    'sync.receive-blocks',
    'sync.reply-once',
    'sync.true-sender',
    'sync.message-type',
    'sync.capacity-full',
    'sync.call-timeout',
    'sync.receive-timeout',
    'sync.server-exit-wakes-callers',
    'sync.client-exit-before-reply',
    'sync.priority-order',
    'sync.priority-inheritance',
    'sync.direct-switch',
  ],
  fast: ['fast.register-roundtrip', 'fast.golden-frames', 'fast.register-only-rejects-large'],
  proc: ['proc.spawn-worker', 'proc.worker-call-reply', 'proc.kill-mid-call', 'proc.exit-frees-memory'],
  err: ['err.codes-stable', 'err.state-unchanged'],
  model: ['model.multi-cpu', 'model.kills'],
  large: [
    'large.copy',
    'large.caps-batch',
    'large.too-large',
    'large.oom-rollback',
    'large.cross-cpu',
    'large.move-zero-copy',
    'large.share-cow',
    'large.lazy-mapping',
    'large.unaligned',
  ],
  async: [
    'async.fifo',
    'async.batch',
    'async.overflow-reject',
    'async.overflow-drop-oldest',
    'async.overflow-drop-newest',
    'async.overflow-block',
    'async.wake-waiting-consumer',
    'async.close-drains',
    'async.multi-producer-cross-cpu',
    'async.buffer-transfer',
    'async.one-slot',
  ],
  topic: ['topic.fanout', 'topic.late-subscriber', 'topic.slow-subscriber', 'topic.unsubscribe', 'topic.publish-requires-send', 'topic.cleanup-on-exit'],
  mmu: [
    'mmu.map-translate',
    'mmu.unmap-faults',
    'mmu.protect',
    'mmu.huge-pages',
    'mmu.invalid-address-faults',
    'mmu.tlb-no-stale',
    'mmu.accessed-dirty',
    'mmu.golden-entries',
  ],
  sec: [
    'sec.rate-limit-messages',
    'sec.rate-limit-bytes-refill',
    'sec.filter-size',
    'sec.filter-type',
    'sec.filter-source',
    'sec.filter-required-cap',
    'sec.audit-records',
    'sec.audit-bounded',
  ],
  trace: ['trace.debugfs-toggle', 'trace.messages', 'trace.channel-stats', 'trace.chrome-export'],
  region: ['region.map-share', 'region.permissions', 'region.refcount-free', 'region.numa-node'],
} as const;

/**
 * Areas whose feature issues have not landed yet. Their cases are registered so the matrix
 * lists every id, and each is reported as skipped (never as passed) until its area moves to
 * {@link LANDED_CASES} with real tests.
 */
export const PENDING_AREAS: Readonly<Record<never, PendingAreaSpec>> = {};

/** What a pending area lists: the feature it waits for and its case ids. */
export interface PendingAreaSpec {
  readonly feature: string;
  readonly ids: readonly string[];
}

/** An area whose cases run now. */
export type LandedArea = keyof typeof LANDED_CASES;
/** An area whose cases are registered as skipped until its feature lands. */
export type PendingArea = keyof typeof PENDING_AREAS;
/** Any case area (the part of a case id before the dot; a pending area would join this union). */
export type Area = LandedArea;
/** The id of a case of a landed area. */
export type LandedCaseId = (typeof LANDED_CASES)[LandedArea][number];
/** The id of a case of a pending area (none today: every area has landed). */
export type PendingCaseId = never;
/** Any conformance case id, e.g. `sync.call-reply` (a pending area's ids would join this union). */
export type CaseId = LandedCaseId;

/** Every area, landed ones first, in matrix order. */
export const AREAS: readonly Area[] = [...new Set<Area>([...(Object.keys(LANDED_CASES) as LandedArea[]), ...(Object.keys(PENDING_AREAS) as PendingArea[])])];

/** Every case id, in matrix order (landed areas first, then pending ones). */
export const CASE_IDS: readonly CaseId[] = [
  ...Object.values(LANDED_CASES).flat(),
  ...Object.values<PendingAreaSpec>(PENDING_AREAS).flatMap((a) => a.ids as readonly CaseId[]),
];

/** The area of a case id (`sync.call-reply` → `sync`). */
export function areaOf(id: CaseId): Area {
  return id.slice(0, id.indexOf('.')) as Area;
}
