// Tells the compiler about @strand/testing's jest matchers, which the *.fake.test.ts files
// register with `expect.extend(strandMatchers)`.
import type { StrandMatchers } from '@strand/testing';

declare global {
  namespace jest {
    // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-unused-vars
    interface Matchers<R, T = {}> extends StrandMatchers<R> {}
  }
}
