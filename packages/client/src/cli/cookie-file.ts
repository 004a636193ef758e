/**
 * Cookie files in the Netscape format curl reads (`-b FILE`) and writes (`-c FILE`): one cookie a
 * line, seven tab-separated fields —
 *
 * ```
 * domain  include-subdomains  path  secure  expires  name  value
 * .example.com  TRUE  /  FALSE  1767225600  theme  dark
 * ```
 *
 * — a leading `.` and `TRUE` for a domain cookie, the bare host and `FALSE` for a host-only one,
 * `expires` in seconds since the epoch (0: a session cookie), and `#HttpOnly_` in front of the
 * domain of an HttpOnly cookie. Other lines starting with `#`, and blank lines, are comments.
 * Cookies go straight into the jar's store, so they keep exactly the scope the file gives them.
 */

import { Cookie, type CookieJar } from 'tough-cookie';

const HTTP_ONLY_PREFIX = '#HttpOnly_';

/** The first lines of a file written by {@link formatCookieFile}. */
export const COOKIE_FILE_HEADER = '# Netscape HTTP Cookie File\n# Written by strand (-c). Edit at your own risk.\n\n';

/**
 * The cookies of a Netscape cookie file. Malformed lines (fewer than six fields, a bad expiry)
 * and cookies that have already expired (at `now`, ms) are left out, as curl does.
 */
export function parseCookieFile(text: string, now = Date.now()): Cookie[] {
  const cookies: Cookie[] = [];
  for (const raw of text.split(/\r?\n/)) {
    let line = raw;
    let httpOnly = false;
    if (line.startsWith(HTTP_ONLY_PREFIX)) {
      httpOnly = true;
      line = line.slice(HTTP_ONLY_PREFIX.length);
    } else if (line.startsWith('#') || line.trim() === '') {
      continue;
    }
    const fields = line.split('\t');
    if (fields.length < 6) continue;
    const [domainField, subdomains, path, secure, expiresField, key, value = ''] = fields as [string, string, string, string, string, string, string | undefined];
    const expires = Number(expiresField);
    if (!/^\d+$/.test(expiresField) || !Number.isSafeInteger(expires)) continue;
    if (expires !== 0 && expires * 1000 <= now) continue;
    const domain = domainField.replace(/^\./, '').toLowerCase();
    if (domain === '' || key === '') continue;
    const hostOnly = !(domainField.startsWith('.') || subdomains.toUpperCase() === 'TRUE');
    cookies.push(
      new Cookie({
        key,
        value,
        domain,
        path: path === '' ? '/' : path,
        secure: secure.toUpperCase() === 'TRUE',
        httpOnly,
        hostOnly,
        expires: expires === 0 ? 'Infinity' : new Date(expires * 1000),
        creation: new Date(now),
      }),
    );
  }
  return cookies;
}

/** Puts the cookies of a file into `jar`'s store. */
export async function loadCookieFile(jar: CookieJar, text: string): Promise<number> {
  const cookies = parseCookieFile(text);
  for (const cookie of cookies) await jar.store.putCookie(cookie);
  return cookies.length;
}

/** When a cookie expires, ms since the epoch (`Max-Age` counted from when it was set); Infinity for a session cookie. */
function expiryOf(cookie: Cookie): number {
  return cookie.expiryTime(cookie.creation instanceof Date ? cookie.creation : undefined) ?? Infinity;
}

/** One cookie as a line of the file. */
function cookieLine(cookie: Cookie): string {
  const hostOnly = cookie.hostOnly === true;
  const domain = `${cookie.httpOnly ? HTTP_ONLY_PREFIX : ''}${hostOnly ? '' : '.'}${cookie.domain ?? ''}`;
  const expiry = expiryOf(cookie);
  const expires = expiry === Infinity ? 0 : Math.max(1, Math.floor(expiry / 1000));
  return [domain, hostOnly ? 'FALSE' : 'TRUE', cookie.path ?? '/', cookie.secure ? 'TRUE' : 'FALSE', String(expires), cookie.key, cookie.value].join('\t');
}

/** Every unexpired cookie of `jar` in the Netscape format, session cookies included (expires 0), as curl's `-c` writes them. */
export async function formatCookieFile(jar: CookieJar, now = Date.now()): Promise<string> {
  const cookies = await jar.store.getAllCookies();
  let text = COOKIE_FILE_HEADER;
  for (const cookie of cookies) {
    if (expiryOf(cookie) <= now) continue;
    text += `${cookieLine(cookie)}\n`;
  }
  return text;
}
