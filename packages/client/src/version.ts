/** The version of `@strand/client` (kept equal to its package.json by a test). */
export const VERSION = '0.1.0';

/** The `User-Agent` sent when a request sets none: `strand/<version>`. */
export const DEFAULT_USER_AGENT = `strand/${VERSION}`;
