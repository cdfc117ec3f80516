/** The shared VeridianOS conformance suite (`@veridian/testkit`) against this backend. */
import { conformance } from '@veridian/testkit';
import { x86_64 } from '../src/index.ts';

conformance({ name: 'x86_64', arch: x86_64 });
