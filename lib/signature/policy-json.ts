/**
 * JSON text for a security policy, read strictly: JSON.parse decodes the values, and a scan of the text adds
 * what JSON.parse does not give: the line:column of a syntax error, duplicate keys (JSON.parse keeps the
 * last silently; containers/image refuses them, so a policy cannot say two things about one scope), and
 * where each value starts, so later validation errors can point into the file.
 */

/** A value's place in the document: object keys and array indexes from the root. */
export type JsonPath = (string | number)[];

export interface LocatedJson {
  value: unknown;
  /** `line:column` (both 1-based) where the value at a path starts; undefined for a path not in the text. */
  at(path: JsonPath): string | undefined;
}

/** A JSON document that cannot be read; `at` is `line:column`. */
export class JsonTextError extends Error {
  constructor(
    readonly at: string,
    message: string,
  ) {
    super(message);
  }
}

/** Parses `text`, or throws JsonTextError saying where and what is wrong. */
export function parseLocatedJson(text: string): LocatedJson {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const message = (e as Error).message;
    throw new JsonTextError(lineColumn(text, syntaxErrorOffset(text, message)), `invalid JSON: ${tidy(message)}`);
  }
  const starts = scanStarts(text);
  return {
    value,
    at: (path) => {
      const offset = starts.get(pathKey(path));
      return offset === undefined ? undefined : lineColumn(text, offset);
    },
  };
}

/** `a."b c"[0]`: keys that are not plain words are quoted, so a scope such as "example.com/x" reads as one. */
export function formatPath(path: JsonPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += (out === '' ? '' : '.') + (/^[A-Za-z][A-Za-z0-9_-]*$/.test(part) ? part : JSON.stringify(part));
  }
  return out;
}

const pathKey = (path: JsonPath): string => JSON.stringify(path);

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `${line}:${offset - before.lastIndexOf('\n')}`;
}

/** Node 20 names the offset in most messages ("at position N"), but not in "Unexpected token" ones. */
function syntaxErrorOffset(text: string, message: string): number {
  const m = /at position (\d+)/.exec(message);
  if (m) return Number(m[1]);
  if (/Unexpected end of JSON input/.test(message)) return text.length;
  // A prefix of the text fails before its end only once it holds the bad character, so the shortest such
  // prefix ends just after it; JSON.parse finds it in log(n) tries.
  let lo = 1;
  let hi = text.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (failsBeforeEnd(text.slice(0, mid))) hi = mid;
    else lo = mid + 1;
  }
  return lo - 1;
}

function failsBeforeEnd(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return false;
  } catch (e) {
    const message = (e as Error).message;
    if (/Unexpected end of JSON input/.test(message)) return false;
    const m = /at position (\d+)/.exec(message);
    return !(m && Number(m[1]) >= prefix.length);
  }
}

/** Drops V8's position (given as line:column instead) and its echo of the whole text. */
function tidy(message: string): string {
  return message
    .replace(/ (?:in JSON )?at position \d+.*$/s, '')
    .replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '');
}

/** Where each value of valid JSON text starts; throws JsonTextError on a duplicate key. */
function scanStarts(text: string): Map<string, number> {
  const starts = new Map<string, number>();
  let i = 0;
  const skipSpace = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const readString = (): string => {
    const start = i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const readValue = (path: JsonPath): void => {
    skipSpace();
    starts.set(pathKey(path), i);
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      for (skipSpace(); text[i] !== '}'; skipSpace()) {
        if (text[i] === ',') i++;
        skipSpace();
        const keyAt = i;
        const key = readString();
        if (seen.has(key)) {
          const where = formatPath(path);
          throw new JsonTextError(lineColumn(text, keyAt), `${where ? `${where}: ` : ''}duplicate key ${JSON.stringify(key)}`);
        }
        seen.add(key);
        skipSpace();
        i++; // ':'
        readValue([...path, key]);
      }
      i++;
    } else if (c === '[') {
      i++;
      for (let n = 0; (skipSpace(), text[i] !== ']'); n++) {
        if (text[i] === ',') i++;
        readValue([...path, n]);
      }
      i++;
    } else if (c === '"') {
      readString();
    } else {
      while (i < text.length && !',]} \t\n\r'.includes(text[i]!)) i++;
    }
  };
  readValue([]);
  return starts;
}
