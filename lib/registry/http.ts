/**
 * The parts of undici the registry client uses, loaded from their own modules: undici's index also loads
 * fetch, WebSocket, cookies, caches and mocks, 42 ms of every push and pull against ~15 ms for these.
 */
import './wasm-flags.js';
import Agent from 'undici/lib/dispatcher/agent.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import api from 'undici/lib/api/index.js';
import redirect from 'undici/lib/interceptor/redirect.js';
import type { Dispatcher as DispatcherType } from 'undici';

// what undici's index does to give every dispatcher request(), stream() and the rest
if (!('request' in Dispatcher.prototype)) Object.assign(Dispatcher.prototype, api);

export type Response = DispatcherType.ResponseData;

/** An agent (connection pools per origin) that follows redirects. */
export function httpAgent(connect: Record<string, unknown>): DispatcherType {
  return new Agent({ connect }).compose(redirect({ maxRedirections: 10 }));
}

export interface HttpRequest {
  method?: DispatcherType.HttpMethod;
  headers?: Record<string, string>;
  body?: DispatcherType.DispatchOptions['body'];
}

/** undici's request(url, options) on a given dispatcher. */
export function httpRequest(d: DispatcherType, url: string | URL, opts: HttpRequest = {}): Promise<Response> {
  const u = new URL(url);
  return d.request({ origin: u.origin, path: u.pathname + u.search, method: opts.method ?? 'GET', headers: opts.headers, body: opts.body });
}
