/** Every landed case, by id. */
import type { LandedCaseId } from '../case-ids.js';
import { asyncCases } from './async.js';
import { capCases } from './cap.js';
import { errCases } from './err.js';
import { fastCases } from './fast.js';
import { largeCases } from './large.js';
import { mmuCases } from './mmu.js';
import { modelCases } from './model.js';
import { procCases } from './proc.js';
import { regCases } from './reg.js';
import { secCases } from './sec.js';
import { syncCases } from './sync.js';
import { topicCases } from './topic.js';
import { traceCases } from './trace.js';
import { zeroCopyCases } from './zero-copy.js';
import { regionCases } from './region.js';
import type { CaseSpec } from './types.js';

/** The specs of all landed cases; the type guarantees exactly one per id. */
export const LANDED_SPECS: { readonly [K in LandedCaseId]: CaseSpec } = {
  ...capCases,
  ...regCases,
  ...syncCases,
  ...fastCases,
  ...procCases,
  ...errCases,
  ...modelCases,
  ...mmuCases,
  ...largeCases,
  ...zeroCopyCases,
  ...regionCases,
  ...asyncCases,
  ...topicCases,
  ...secCases,
  ...traceCases,
};
