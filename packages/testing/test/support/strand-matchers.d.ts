// Makes `expect(...)` know the matchers of `strandMatchers` (registered with expect.extend in the tests).
import type { StrandMatchers } from '../../src/index.js';

declare global {
  namespace jest {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unused-vars
    interface Matchers<R, T = {}> extends StrandMatchers<R> {}
  }
}
