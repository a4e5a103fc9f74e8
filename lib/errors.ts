/**
 * One error tree for the whole library. Every error carries a stable `code`; the CLI maps errors to exit
 * codes in one place (`exitCodeOf`), following buildah and podman: 125 for hod's own failures.
 */
export class HodError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A container, image or other named object does not exist. */
export class NotFoundError extends HodError {
  constructor(kind: string, name: string) {
    super('ENOTFOUND', `${kind} "${name}" not found`);
  }
}

/** The user gave something that cannot be right: a bad flag value, reference or argument. */
export class UsageError extends HodError {
  constructor(message: string) {
    super('EUSAGE', message);
  }
}

/** A reference that breaks the naming rules; `rule` says which. */
export class InvalidReferenceError extends HodError {
  constructor(ref: string, rule: string) {
    super('EREFERENCE', `invalid image name "${ref}": ${rule}`);
  }
}

/** Content did not hash to what it claimed. */
export class DigestMismatchError extends HodError {
  constructor(what: string, expected: string, actual: string) {
    super('EDIGEST', `${what}: digest mismatch: expected ${expected}, got ${actual}`);
  }
}

/** The operation would break something that is in use, e.g. removing an image a container uses. */
export class ConflictError extends HodError {
  constructor(message: string) {
    super('ECONFLICT', message);
  }
}

/** A tar entry that tries to escape the root it is unpacked into, or is otherwise malformed. */
export class HostileArchiveError extends HodError {
  constructor(entry: string, why: string) {
    super('EHOSTILE', `refusing archive entry "${entry}": ${why}`);
  }
}

/** The kernel or host refused something hod needs (a mount, a namespace). */
export class SystemError extends HodError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ESYSTEM', message, options);
  }
}

/** A command run inside a container exited non-zero; `exitCode` is passed through by `run`. */
export class RunError extends HodError {
  readonly exitCode: number;
  constructor(message: string, exitCode: number) {
    super('ERUN', message);
    this.exitCode = exitCode;
  }
}

/** Exit codes as buildah and podman use them. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof RunError) return err.exitCode;
  return 125;
}

/** Something wrong with a Dockerfile, or a step of it that failed: the message starts with file:line. */
export class DockerfileError extends HodError {
  constructor(readonly file: string, readonly line: number, message: string, options?: { cause?: unknown; code?: string }) {
    super(options?.code ?? 'EDOCKERFILE', `${file}:${line}: ${message}`, options);
  }
}
