/**
 * What a registry refused, or why it could not be reached. Every message names the registry and, for a
 * refusal, the request and the registry's own error codes; none ever holds a password or token.
 */
import { HodError } from '../errors.js';

/** EREGISTRY: a refusal or a protocol error; EAUTH: credentials missing or wrong; ECONNECT: no connection or TLS failure. */
export type RegistryErrorCode = 'EREGISTRY' | 'EAUTH' | 'ECONNECT';

export interface RegistryErrorDetails {
  code?: RegistryErrorCode;
  /** The HTTP status, when there was an answer. */
  status?: number;
  /** The registry's error codes from the body (`MANIFEST_UNKNOWN`, `DENIED`...). */
  codes?: string[];
  /** Whether trying again later could help (429, 5xx, a dropped connection). */
  retryable?: boolean;
  cause?: unknown;
}

export class RegistryError extends HodError {
  readonly status?: number;
  readonly codes: string[];
  readonly retryable: boolean;

  constructor(message: string, details: RegistryErrorDetails = {}) {
    super(details.code ?? 'EREGISTRY', message, { cause: details.cause });
    this.status = details.status;
    this.codes = details.codes ?? [];
    this.retryable = details.retryable ?? false;
  }
}

/** Replace every occurrence of a secret in an error's message, so no caller can print it. */
export function redact<E>(err: E, secrets: string[]): E {
  if (!(err instanceof Error)) return err;
  for (const s of secrets) {
    if (s.length >= 3 && err.message.includes(s)) err.message = err.message.split(s).join('***');
  }
  return err;
}

/** The `errors` array of a distribution error body, as "CODE message" strings and the bare codes. */
export function parseErrorBody(text: string): { codes: string[]; detail: string } {
  try {
    const errs = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors;
    if (Array.isArray(errs) && errs.length) {
      return {
        codes: errs.map((e) => e.code ?? '').filter(Boolean),
        detail: errs.map((e) => [e.code, e.message].filter(Boolean).join(' ')).join('; '),
      };
    }
  } catch {
    // not JSON: the status says enough
  }
  return { codes: [], detail: '' };
}
