/**
 * `@strand/client`: the requests-style API on `@strand/core` (treq's shape): module functions on
 * a global persistent pool, {@link HTTPClient} on any agent, JSON, forms, multipart uploads,
 * cookies, Basic and Digest auth, timeouts, a concurrency cap, and a rich response.
 *
 * @packageDocumentation
 */
export { del as delete, get, head, patch, post, put, request } from './api.js';
export { AuthAgent, DigestCache, basicAuthorization } from './auth.js';
export { type DataToBodyProducer, defaultDataToBodyProducer } from './body.js';
export { DownloadError, type DownloadOptions, type DownloadResult, download } from './download.js';
export { DEFAULT_EXPECT_CONTINUE_THRESHOLD } from './expect.js';
export type { ResponseRange } from './ranges.js';
export { HTTPClient, type HTTPClientOptions, type ManyOptions } from './client.js';
export { type FetchInput, type StrandFetch, createFetch, strandFetch } from './fetch.js';
export { CookieAgent, type ScopedCookies, createCookieJar } from './cookies.js';
export { type AuthChallenge, type DigestChallenge, digestAuthorization, parseChallenges, pickDigestChallenge } from './digest.js';
export { HTTPStatusError, JSONDecodeError, ResponseDecodeError, SocksProxyError } from './errors.js';
export { PROGRESS_INTERVAL_MS } from './progress.js';
export { type MapConcurrentOptions, Semaphore, type Settled, mapConcurrent } from './limiter.js';
export { type Link, parseLinks } from '@strand/core';
// The errors a client call can reject with, and the stores of its `cache` option, so a program
// that uses only the client imports them from here (they are core's classes, one identity).
export {
  BodyTooLargeError,
  CancelledError,
  ClosedError,
  ConnectError,
  ConnectionRefusedError,
  DNSLookupError,
  DecodingError,
  FileCacheStore,
  InvalidArgumentError,
  InvalidHeaderError,
  InvalidRequestError,
  MemoryCacheStore,
  ParseError,
  ProxyError,
  RedirectError,
  RequestGenerationFailedError,
  RequestNotSentError,
  RequestTransmissionFailedError,
  ResponseFailedError,
  ResponseNeverReceivedError,
  StrandError,
  TLSCertificateError,
  TLSCertificateExpiredError,
  TLSError,
  TLSHandshakeError,
  TLSHostnameMismatchError,
  TLSUnknownCAError,
  TimeoutError,
  TooManyRedirectsError,
} from '@strand/core';
export { MultipartProducer, type MultipartPart, guessContentType } from './multipart.js';
export { BlobProducer } from './web-bodies.js';
export { type NetrcEntry, netrcCredentials, parseNetrc } from './netrc.js';
export { DEFAULT_MAX_BODY_SIZE, DEFAULT_MAX_REDIRECTS } from './options.js';
export { agentForPool, defaultPool, getGlobalPool, setGlobalPool } from './pools.js';
export { DEFAULT_RETRY_LIMIT, DEFAULT_RETRY_METHODS } from './retry.js';
export { ClientResponse, DEFAULT_TEXT_ENCODING, type Timings, charsetOf } from './response.js';
export { DEFAULT_SOCKS_PORT, type SocksEndpointOptions, SocksEndpointFactory, type SocksProxy, parseSocksProxyUrl } from './socks.js';
export type * from './types.js';
export { DEFAULT_USER_AGENT, VERSION } from './version.js';
export {
  type Har,
  type HarContent,
  type HarCookie,
  type HarCreator,
  type HarEntry,
  type HarInformational,
  type HarLog,
  type HarNameValue,
  type HarPostData,
  type HarRequest,
  type HarResponse,
  type HarTimings,
  type StrandEntryFields,
  HarFormatError,
  emptyHar,
  harRequestBody,
  harResponseBody,
  parseHar,
  serializeHar,
} from './har/model.js';
export { DEFAULT_REDACTED_HEADERS, DEFAULT_REDACTED_PARAMS, type HarRedaction, REDACTED, type RedactOptions, harRedaction, redactEntry, redactRequest } from './har/redact.js';
export { HarRecorder, type HarRecorderOptions, type HarRequestParts, type HarRequestResult, harPairs, harRequest } from './har/recorder.js';
