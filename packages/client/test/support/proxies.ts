/**
 * Proxies on loopback for tests: a minimal SOCKS server (RFC 1928 SOCKS5 with RFC 1929
 * username/password, SOCKS4 and SOCKS4a; CONNECT only) and an HTTP proxy (absolute-form requests
 * answered by the proxy itself, CONNECT tunnels to the real target). Both record what they saw
 * and destroy every socket on close().
 */
import * as http from 'node:http';
import * as net from 'node:net';

/** What the SOCKS server saw of one CONNECT. */
export interface SeenSocksConnect {
  version: 4 | 5;
  /** How the client named the destination: an address it resolved itself, or a name for the proxy to resolve. */
  addressType: 'ipv4' | 'ipv6' | 'domain';
  host: string;
  port: number;
  /** The RFC 1929 username (SOCKS5) or user id (SOCKS4), null when none was sent. */
  username: string | null;
}

export interface SocksServerOptions {
  /** Require RFC 1929 username/password authentication (SOCKS5). */
  auth?: { username: string; password: string };
  /** Answer every CONNECT with this reply code instead of connecting (SOCKS5: 5 = connection refused; SOCKS4: 91). */
  refuse?: number;
  /** Names the server resolves for socks5h/socks4a (`localhost` is always 127.0.0.1); others get reply 4 (host unreachable). */
  hosts?: Readonly<Record<string, string>>;
  /** Read the greeting and never answer. */
  stall?: boolean;
}

export interface SocksServer {
  readonly port: number;
  /** `scheme://[credentials@]127.0.0.1:port`. */
  url(scheme: 'socks4' | 'socks4a' | 'socks5' | 'socks5h', credentials?: string): string;
  /** CONNECT requests seen, in order. */
  readonly connects: SeenSocksConnect[];
  /** Client connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

/** Reads exact byte counts from a socket, in order. */
class Reader {
  private buffered = Buffer.alloc(0);
  private waiting: (() => void) | null = null;
  private ended = false;

  constructor(private readonly socket: net.Socket) {
    socket.on('data', this.onData);
    socket.on('end', () => {
      this.ended = true;
      this.waiting?.();
    });
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    this.waiting?.();
  };

  async take(n: number): Promise<Buffer> {
    while (this.buffered.length < n) {
      if (this.ended) throw new Error('the client closed the connection');
      await new Promise<void>((resolve) => (this.waiting = resolve));
      this.waiting = null;
    }
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  async takeString(): Promise<string> {
    const bytes: number[] = [];
    for (;;) {
      const [byte] = await this.take(1);
      if (byte === 0) return Buffer.from(bytes).toString('latin1');
      bytes.push(byte as number);
    }
  }

  /** Stops reading and returns what was read past the handshake. */
  detach(): Buffer {
    this.socket.removeListener('data', this.onData);
    return this.buffered;
  }
}

export async function startSocksServer(options: SocksServerOptions = {}): Promise<SocksServer> {
  const sockets = new Set<net.Socket>();
  const connects: SeenSocksConnect[] = [];
  let accepted = 0;
  const keep = (socket: net.Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
  };

  /** Connects to the destination and splices the two sockets; `reply(ok)` answers the client first. */
  const splice = (client: net.Socket, reader: Reader, host: string, port: number, reply: (ok: boolean) => void): void => {
    const target = net.connect({ host, port });
    keep(target);
    target.once('error', () => {
      reply(false);
      client.end();
    });
    target.once('connect', () => {
      reply(true);
      const rest = reader.detach();
      if (rest.length > 0) target.write(rest);
      client.pipe(target);
      target.pipe(client);
    });
  };

  const resolveName = (name: string): string | undefined => options.hosts?.[name] ?? (name === 'localhost' ? '127.0.0.1' : undefined);

  const socks5 = async (client: net.Socket, reader: Reader): Promise<void> => {
    const [count] = await reader.take(1);
    const methods = [...(await reader.take(count as number))];
    if (options.stall === true) return;
    let username: string | null = null;
    if (options.auth !== undefined) {
      if (!methods.includes(2)) {
        client.end(Buffer.from([5, 0xff]));
        return;
      }
      client.write(Buffer.from([5, 2]));
      await reader.take(1); // sub-negotiation version 1
      const user = (await reader.take((await reader.take(1))[0] as number)).toString('utf8');
      const password = (await reader.take((await reader.take(1))[0] as number)).toString('utf8');
      const ok = user === options.auth.username && password === options.auth.password;
      client.write(Buffer.from([1, ok ? 0 : 1]));
      if (!ok) {
        client.end();
        return;
      }
      username = user;
    } else {
      if (!methods.includes(0)) {
        client.end(Buffer.from([5, 0xff]));
        return;
      }
      client.write(Buffer.from([5, 0]));
    }
    const [, command, , type] = await reader.take(4);
    let host: string;
    let addressType: SeenSocksConnect['addressType'];
    if (type === 1) {
      host = [...(await reader.take(4))].join('.');
      addressType = 'ipv4';
    } else if (type === 4) {
      const groups = ((await reader.take(16)).toString('hex').match(/.{4}/g) as string[]).join(':');
      host = new URL(`http://[${groups}]/`).hostname.slice(1, -1); // the canonical (compressed) form
      addressType = 'ipv6';
    } else {
      host = (await reader.take((await reader.take(1))[0] as number)).toString('latin1');
      addressType = 'domain';
    }
    const port = (await reader.take(2)).readUInt16BE(0);
    connects.push({ version: 5, addressType, host, port, username });
    const answer = (code: number): void => {
      client.write(Buffer.from([5, code, 0, 1, 127, 0, 0, 1, 0, 0]));
    };
    if (command !== 1) {
      answer(7);
      client.end();
      return;
    }
    if (options.refuse !== undefined) {
      answer(options.refuse);
      client.end();
      return;
    }
    const address = addressType === 'domain' ? resolveName(host) : host;
    if (address === undefined) {
      answer(4);
      client.end();
      return;
    }
    splice(client, reader, address, port, (ok) => answer(ok ? 0 : 5));
  };

  const socks4 = async (client: net.Socket, reader: Reader): Promise<void> => {
    const head = await reader.take(7);
    const port = head.readUInt16BE(1);
    const ip = [...head.subarray(3, 7)];
    const userId = await reader.takeString();
    const is4a = ip[0] === 0 && ip[1] === 0 && ip[2] === 0 && ip[3] !== 0;
    const host = is4a ? await reader.takeString() : ip.join('.');
    if (options.stall === true) return;
    connects.push({ version: 4, addressType: is4a ? 'domain' : 'ipv4', host, port, username: userId === '' ? null : userId });
    const answer = (code: number): void => {
      client.write(Buffer.from([0, code, 0, 0, 0, 0, 0, 0]));
    };
    if (options.refuse !== undefined) {
      answer(options.refuse);
      client.end();
      return;
    }
    const address = is4a ? resolveName(host) : host;
    if (address === undefined) {
      answer(91);
      client.end();
      return;
    }
    splice(client, reader, address, port, (ok) => answer(ok ? 90 : 91));
  };

  const server = net.createServer((client) => {
    accepted++;
    keep(client);
    const reader = new Reader(client);
    void reader
      .take(1)
      .then(async ([version]) => {
        if (version === 5) await socks5(client, reader);
        else if (version === 4) await socks4(client, reader);
        else client.destroy();
      })
      .catch(() => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    url: (scheme, credentials) => `${scheme}://${credentials === undefined ? '' : `${credentials}@`}127.0.0.1:${port}`,
    connects,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** What the HTTP proxy saw of one request: an absolute-form request it answered, or a CONNECT. */
export interface SeenProxyRequest {
  method: string;
  /** The request target: `http://host/path` for a forwarded request, `host:port` for CONNECT. */
  target: string;
  proxyAuthorization: string | undefined;
}

export interface HttpProxy {
  readonly url: string;
  readonly port: number;
  readonly seen: SeenProxyRequest[];
  close(): Promise<void>;
}

/**
 * An HTTP proxy on 127.0.0.1: a plain request is answered by the proxy itself (`via proxy: GET
 * http://…`, with the headers it got as JSON in `x-seen-headers`); a CONNECT opens a real tunnel,
 * or is answered with `connectStatus` when given.
 */
export async function startHttpProxy(options: { connectStatus?: number } = {}): Promise<HttpProxy> {
  const seen: SeenProxyRequest[] = [];
  const sockets = new Set<net.Socket>();
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', target: req.url ?? '', proxyAuthorization: req.headers['proxy-authorization'] });
    req.resume();
    req.on('end', () => {
      res.setHeader('x-seen-headers', JSON.stringify(req.headers));
      res.end(`via proxy: ${req.method} ${req.url}`);
    });
  });
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    seen.push({ method: 'CONNECT', target: req.url ?? '', proxyAuthorization: req.headers['proxy-authorization'] });
    if (options.connectStatus !== undefined) {
      client.end(`HTTP/1.1 ${options.connectStatus} Refused\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const [host, port] = (req.url ?? '').split(/:(?=\d+$)/) as [string, string];
    const target = net.connect({ host: host.replace(/^\[|\]$/g, ''), port: Number(port) });
    sockets.add(target);
    target.on('close', () => sockets.delete(target));
    target.on('error', () => client.destroy());
    client.on('error', () => target.destroy());
    target.once('connect', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) target.write(head);
      client.pipe(target);
      target.pipe(client);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The variables {@link setEnv} always sets or unsets, so a test never inherits them. */
const ENV_NAMES = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY', 'no_proxy', 'NO_PROXY', 'REQUEST_METHOD', 'NETRC'];

/**
 * Sets the environment variables `vars` (`undefined` unsets one) and unsets the proxy-related
 * ones not listed; returns the function that restores them as they were.
 */
export function setEnv(vars: Readonly<Record<string, string | undefined>>): () => void {
  const saved = new Map<string, string | undefined>();
  for (const name of new Set([...Object.keys(vars), ...ENV_NAMES])) {
    saved.set(name, process.env[name]);
    const value = vars[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/** Runs `make` with the environment of {@link setEnv}, then restores it. */
export function withEnv<T>(vars: Readonly<Record<string, string | undefined>>, make: () => T): T {
  const restore = setEnv(vars);
  try {
    return make();
  } finally {
    restore();
  }
}

/** {@link withEnv} for async work: the environment is restored once `work` settles. */
export async function withEnvAsync<T>(vars: Readonly<Record<string, string | undefined>>, work: () => Promise<T>): Promise<T> {
  const restore = setEnv(vars);
  try {
    return await work();
  } finally {
    restore();
  }
}
