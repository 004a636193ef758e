/**
 * URLs as curl reads them from a command line: without a scheme a URL is `http://`, and one
 * that does not parse is exit 3 before anything is sent.
 */

import { redactUrl } from '@strand/core';
import { CommandError, EXIT } from './exit-codes.js';

/** `scheme://` at the start: the URL names its scheme. (`host:port/path` does not: curl reads it as http.) */
const HAS_SCHEME = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//;

/** `url` with `http://` in front when it names no scheme, as curl does. */
export function withScheme(url: string): string {
  return HAS_SCHEME.test(url) ? url : `http://${url}`;
}

/**
 * The URL of a command line, checked: `http://` added when it has no scheme; one that does not
 * parse is a {@link CommandError} with exit 3 (curl's "URL malformed"), one whose scheme is not
 * http or https exit 1 (curl's "unsupported protocol"). The text is returned as given (plus the
 * scheme), so the request sends exactly what was typed; the client still checks what WHATWG
 * parsing tolerates (a space in the path) and answers with `STRAND_INVALID_REQUEST`, also 3.
 */
export function commandLineUrl(text: string): string {
  const url = withScheme(text.trim());
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new CommandError(`malformed URL "${redactUrl(text)}"`, EXIT.URL_MALFORMED);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new CommandError(`unsupported protocol "${parsed.protocol.slice(0, -1)}" in "${redactUrl(text)}" (strand speaks http and https)`, EXIT.FAILED);
  }
  if (parsed.hostname === '') throw new CommandError(`malformed URL "${redactUrl(text)}": no host`, EXIT.URL_MALFORMED);
  return url;
}
