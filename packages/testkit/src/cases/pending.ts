/** Registers the cases of areas that have not landed: each is reported as skipped, never as passed. */
import { it } from 'vitest';
import { PENDING_AREAS, type PendingAreaSpec } from '../case-ids.js';

/** Registers every pending case id as a test that skips itself with the reason (none pending today). */
export function registerPending(): void {
  for (const [area, spec] of Object.entries<PendingAreaSpec>(PENDING_AREAS)) {
    const { feature, ids } = spec;
    const reason = `pending: the ${area} area (${feature}) has not landed yet`;
    for (const id of ids) it(id, (ctx) => ctx.skip(reason));
  }
}
