/**
 * Prints how long `vidl` takes to parse, check and generate 100 protocols of 20 methods
 * (the median of several runs after a warm-up). Run: `npx tsx bench/generate-time.ts`.
 */
import { compile, generate } from '../src/compiler.ts';
import { syntheticLibrary } from './synthetic.ts';

const input = [{ path: 'bench.gen.vidl', contents: syntheticLibrary(100, 20) }];
const time = (fn: () => void) => {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
};
const first = time(() => generate(compile(input)));
const runs = Array.from({ length: 10 }, () => time(() => generate(compile(input)))).sort((a, b) => a - b);
const median = (runs[4]! + runs[5]!) / 2;
const text = generate(compile(input))[0]!.text;
console.log(`100 protocols × 20 methods: first run ${first.toFixed(0)} ms (includes warm-up), median ${median.toFixed(0)} ms; ${text.split('\n').length} lines generated`);
