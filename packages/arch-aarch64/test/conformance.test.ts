/** The shared VeridianOS conformance suite (`@veridian/testkit`) against this backend. */
import { conformance } from '@veridian/testkit';
import { aarch64 } from '../src/index.ts';

conformance({ name: 'aarch64', arch: aarch64 });
