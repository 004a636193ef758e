/**
 * `@strand/testing`: test code that makes HTTP calls through Strand's real stack, without a
 * network. A fake agent (the real `HttpAgent` over in-memory connections to Node's own HTTP
 * server), a stub `HTTPClient` on it, route tables, scripted request sequences, an agent spy, fault injection, jest
 * matchers and a loopback stub server.
 *
 * @packageDocumentation
 */
export { AgentSpy, SpyBody, SpyCall, type SpyCallState } from './agent-spy.js';
export { ExpectationsNotMetError, PendingRequestsError, StubHandlerError, TestDoubleFailuresError, UnexpectedRequestError } from './errors.js';
export { FakeAgent, type FakeAgentOptions, type FakeHttp2Options, type InjectFaultOptions, createFakeAgent } from './fake-agent.js';
export { type MatcherContextLike, type MatcherResultLike, type StrandMatchers, strandMatchers } from './matchers.js';
export { type Expectation, type ExpectationInit, RequestSequence, type RequestSequenceOptions } from './sequence.js';
export { type AsymmetricMatcherLike, type MatchResult, type Mismatch, type RequestPattern, type TextMatcher, matchRequest } from './server/pattern.js';
export { RecordedRequest } from './server/recorded-request.js';
export { type Handler, type Reply, type ReplyBody, type ReplyHeaders, type ReplyLike } from './server/reply.js';
export { type RequestHandlerObject, type Route, RouteTable, type RouteTableOptions, type ServerBehaviour } from './server/routes.js';
export { nextTurn, settle, timeoutSignal } from './settle.js';
export { StubClient, type StubClientOptions } from './stub-client.js';
export { StubServer, type StubServerOptions } from './stub-server.js';
export { DEFAULT_GARBAGE, type Fault, type FaultKind } from './transport/faults.js';
export { CassetteError } from './errors.js';
export { Cassette } from './record/cassette.js';
export { CASSETTE_MODE_ENV, CassetteAgent, type CassetteMode, type CassetteOptions, type ReplayAgentOptions, cassetteMode, createReplayAgent, openCassette } from './record/cassette-agent.js';
export { type MatchOptions } from './record/match.js';
export { RecordingAgent, type RecordingAgentOptions } from './record/replay.js';
export { type MswAgentOptions, createMswAgent } from './msw.js';
