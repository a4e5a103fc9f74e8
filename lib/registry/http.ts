/**
 * The parts of undici the registry client uses, loaded from their own modules: undici's index also loads
 * fetch, WebSocket, cookies, caches and mocks, 42 ms of every push and pull against ~15 ms for these.
 */
import Agent from 'undici/lib/dispatcher/agent.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import Pool from 'undici/lib/dispatcher/pool.js';
import api from 'undici/lib/api/index.js';
import redirect from 'undici/lib/interceptor/redirect.js';
import type { Dispatcher as DispatcherType } from 'undici';
import { liftoffOnly } from './wasm-flags.js';

// what undici's index does to give every dispatcher request(), stream() and the rest
if (!('request' in Dispatcher.prototype)) Object.assign(Dispatcher.prototype, api);

export type Response = DispatcherType.ResponseData;

/**
 * An agent (a connection pool per origin) whose TLS settings are chosen per origin: the registry's own
 * certs.d CAs and client certificate must not be offered to a blob store a download is redirected to.
 * Redirects are followed only by requests that ask (`redirects`).
 */
export function httpAgent(connectFor: (origin: string) => Record<string, unknown>): DispatcherType {
  const agent = new Agent({
    factory: (origin: string | URL, opts: object) => {
      liftoffOnly();
      return new Pool(origin, { ...opts, connect: connectFor(String(origin)) });
    },
  });
  return agent.compose(redirect({ maxRedirections: 0 }));
}

export interface HttpRequest {
  method?: DispatcherType.HttpMethod;
  headers?: Record<string, string>;
  body?: DispatcherType.DispatchOptions['body'];
  /** Follow up to this many redirects; undici drops Authorization when one leads to another origin. */
  redirects?: number;
  signal?: AbortSignal;
}

/** undici's request(url, options) on a given dispatcher. */
export function httpRequest(d: DispatcherType, url: string | URL, opts: HttpRequest = {}): Promise<Response> {
  const u = new URL(url);
  const method = opts.method ?? 'GET';
  // undici closes the connection after every HEAD, for servers that send a body anyway; registries do not
  // (Go's client, under skopeo and buildah, keeps it too), and a push asks HEAD of each blob, each on a new
  // connection otherwise
  const req = { origin: u.origin, path: u.pathname + u.search, method, headers: opts.headers, body: opts.body, maxRedirections: opts.redirects ?? 0, signal: opts.signal, reset: method === 'HEAD' ? false : undefined };
  return d.request(req as DispatcherType.RequestOptions);
}
