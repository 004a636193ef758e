/**
 * `@strand/core`: a from-scratch HTTP/1.1 client for Node.js, built on one interface, {@link Agent}.
 *
 * @packageDocumentation
 */
export { type Agent, IDEMPOTENT_METHODS, type RequestOptions, WrapperAgent, closeAgent, destroyAgent } from './agent.js';
export { type BodyConsumer, type BodyLength, type BodyProducer, BytesProducer, FileBodyProducer, type FileBodyProducerOptions, UNKNOWN_LENGTH, isBodyProducer } from './message/producers.js';
export { type BodyProtocol, type BodyTransport, type BodySink, type BodySource, BodyPipe } from './message/body-pipe.js';
export { type DerivedResponseInit, deriveResponse } from './message/derived.js';
export {
  type ConnectOptions,
  type Endpoint,
  type EndpointFactory,
  type StandardEndpointOptions,
  type UnixSocketOptions,
  StandardEndpointFactory,
  TCPEndpoint,
  TLSEndpoint,
  UNIX_SOCKET_SCHEME,
  UnixSocketEndpoint,
  UnixSocketEndpointFactory,
  connectError,
  tlsError,
  unixSocketPath,
  unixSocketURL,
} from './net/endpoints.js';
export {
  type BrowserLikePolicyOptions,
  type ClientCertificateOptions,
  type HostnameMapping,
  type InsecurePolicyOptions,
  type TLSPolicy,
  BrowserLikePolicyForHTTPS,
  HostnameMappingPolicy,
  InsecurePolicyForHTTPS,
  defaultTLSPolicy,
} from './net/tls-policy.js';
export * from './errors.js';
export { brand } from './brand.js';
export { type DiagnosticsConnectParams, type DiagnosticsRequest, diagnostics } from './diagnostics.js';
export { Headers, type HeadersInit } from './message/headers.js';
export { HTTP11Connection, type ConnectionOwner, type ConnectionState, type ExchangeOptions } from './http1/connection.js';
export type { ConnectMilestones, ExchangeTimings, InformationalResponse, ResponseHeadInfo } from './message/exchange.js';
export { type BodyFraming, type ParserLimits, type ResponseHead, DEFAULT_MAX_HEADER_BYTES, DEFAULT_MAX_HEADER_COUNT, DEFAULT_MAX_INTERIM_RESPONSES } from './http1/parser.js';
export { type PreparedRequest, checkRequestLine, prepareRequest } from './http1/serializer.js';
export { HttpAgent, type HttpAgentOptions } from './http-agent.js';
export { Http2Agent, type Http2AgentOptions, type Http2OriginStats } from './http2/agent.js';
export { UnprocessedRequestError } from './http2/stream-exchange.js';
export { type AcquireOptions, HTTPConnectionPool, type HTTPConnectionPoolOptions, type PoolHostStats } from './pool/pool.js';
export { PoolHolder } from './pool/pool-holder.js';
export { DEFAULT_TLS_SESSION_CACHE_SIZE, TLSSessionCache } from './net/tls-sessions.js';
export { type CachingLookupOptions, cachingLookup } from './net/dns-cache.js';
export { startTLS } from './net/tls-upgrade.js';
export { DEFAULT_TIMEOUTS, TIMEOUT_PHASES, checkTimeoutOptions, type ResolvedTimeouts, type TimeoutOptions, resolveTimeouts } from './time/timeouts.js';
export { type ReadBodyOptions, type RequestInfo, type ResponseInit, Response, readBody } from './message/response.js';
export { type Clock, type TimerHandle, ManualClock, systemClock } from './time/clock.js';
export { Deadline } from './time/deadline.js';
export { type RedirectAgentOptions, type RedirectMethod, BrowserLikeRedirectAgent, RedirectAgent, RedirectError, TooManyRedirectsError } from './agents/redirect.js';
export { type ProxyAgentOptions, ProxyAgent } from './agents/proxy.js';
export { type ProxyConnectorOptions, type TunnelEndpointOptions, ProxyConnector, ProxyError, TunnelEndpoint, atProxy, parseProxyUrl, proxyAuthorization } from './agents/proxy-tunnel.js';
export { type EnvProxyAgentOptions, type ProxyEnvironment, EnvProxyAgent, bypassesProxy, proxyForUrl } from './agents/proxy-env.js';
export { type ContentDecoderOptions, ContentDecoderAgent, DEFAULT_MAX_DECODED_BYTES } from './agents/decode.js';
export { type ContentDecoder, brotliDecoder, defaultDecoders, deflateDecoder, gzipDecoder, zstdDecoder } from './agents/decoders.js';
export { type RetryAgentOptions, type RetryEvent, DEFAULT_RETRY_STATUSES, RetryAgent } from './agents/retry.js';
export { DEFAULT_SENSITIVE_HEADERS } from './agents/sensitive-headers.js';
export { type CacheRequestOptions, type CachingAgentOptions, CachingAgent } from './agents/cache/caching-agent.js';
export type { CacheMode } from './agents/cache/policy.js';
export { type CacheStore, type CacheStoreWriter, type MemoryCacheStoreOptions, type StoredHead, type StoredResponse, MemoryCacheStore } from './agents/cache/store.js';
export { type CacheOutcome, type ForwardReason, cacheStatusMember } from './agents/cache/cache-status.js';
export { type FileCacheStoreOptions, FileCacheStore } from './agents/cache/file-store.js';
export { closestName, describeType, isToken, isValidFieldValue, rejectUnknownOptions } from './validate.js';
export {
  type BareItem,
  type InnerList,
  type StructuredDictionary,
  type StructuredFieldType,
  type StructuredItem,
  type StructuredList,
  type StructuredParameters,
  type StructuredParseOptions,
  Decimal,
  DisplayString,
  StructuredFieldError,
  Token,
  isInnerList,
  parseStructuredField,
  serializeStructuredField,
} from './message/structured-fields.js';
export {
  type CacheDirectives,
  type Link,
  type MediaType,
  type RateLimit,
  type RateLimitPolicy,
  linksByRel,
  parseHttpDate,
  parseLinks,
  parseMediaType,
} from './message/field-values.js';
export {
  type ByteRangeSpec,
  type ContentRange,
  type RangeInit,
  type RangeMismatchKind,
  type MultipartRanges,
  type PartialRange,
  type RangeOutcome,
  type RangeResponseHead,
  type UnsatisfiableRange,
  type UnsatisfiedRange,
  type WholeOrOther,
  MAX_RANGES,
  RangeMismatchError,
  checkRangeResponse,
  formatRange,
  ifRangeValidator,
  normalizeRanges,
  parseContentRange,
  partAnswersRanges,
  validBoundary,
} from './message/ranges.js';
export {
  type ByteRangesErrorKind,
  type ByteRangesOptions,
  ByteRangePart,
  ByteRangesError,
  DEFAULT_BYTERANGES_MAX_HEADER_BYTES,
  DEFAULT_BYTERANGES_MAX_PARTS,
  readByteRanges,
} from './message/byteranges.js';
