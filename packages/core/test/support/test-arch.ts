/** Core's tests use the test arch that `@veridian/core/testing` publishes. */
export { testArch } from '../../src/testing/test-arch.ts';
