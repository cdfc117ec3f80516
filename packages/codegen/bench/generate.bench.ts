import { bench, describe } from 'vitest';
import { compile, generate } from '../src/compiler.ts';
import { syntheticLibrary } from './synthetic.ts';

const source = syntheticLibrary(100, 20);
const input = [{ path: 'bench.gen.vidl', contents: source }];
const checked = compile(input);
if (!checked.ok) throw new Error('the synthetic library must compile cleanly');

describe('100 protocols × 20 methods', () => {
  bench('parse + check', () => {
    compile(input);
  });
  bench('generate (from a checked program)', () => {
    generate(checked);
  });
  bench('parse + check + generate', () => {
    generate(compile(input));
  });
});
