// A process whose body throws (connect to a name nobody registered): the crash must be reported
// on stderr with the process name and the error, while the program goes on to its end.
import { createKernel } from '@veridian/core';
import { testArch } from '../support/test-arch.ts';

const kernel = createKernel({ arch: testArch, frames: 256, processes: 8, endpoints: 8, capSlots: 16 });
const h = kernel.spawn({ name: 'doomed-client' }, (p) => {
  p.connect('nope');
});
const exit = await h.exited;
console.log(`exit ${exit.reason}`);
