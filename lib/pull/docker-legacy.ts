/**
 * The pre-1.10 half of a `docker save` archive that docker load still reads: one `<id>/` directory per layer
 * with `layer.tar`, `VERSION` and `json`, and `repositories` naming the top layer id. The ids and JSON are
 * made exactly as containers/image makes them (Go's encoding/json: sorted map keys, compacted raw values,
 * HTML characters escaped), so hod's archives are byte-identical to skopeo's.
 */
import crypto from 'node:crypto';

const TOP_LAYER_FIELDS = ['architecture', 'config', 'container', 'container_config', 'created', 'docker_version', 'os'];

function sha256Hex(s: string): string {
  return crypto.createHash('sha256').update(s).digest('hex');
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  return i;
}

/** The index just past the JSON value starting at `i` (the text is known to be valid JSON). */
function valueEnd(text: string, i: number): number {
  let depth = 0;
  let inString = false;
  for (let j = i; j < text.length; j++) {
    const c = text[j];
    if (inString) {
      if (c === '\\') j++;
      else if (c === '"') {
        inString = false;
        if (depth === 0) return j + 1;
      }
    } else if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth === 0) return j + 1;
    } else if (depth === 0 && ',} \t\n\r]'.includes(c)) return j;
  }
  return text.length;
}

/** The raw text of each member of a JSON object, as Go unmarshals into map[string]*json.RawMessage. */
export function rawMembers(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = skipSpace(text, 0);
  if (text[i] !== '{') return out;
  i = skipSpace(text, i + 1);
  while (i < text.length && text[i] !== '}') {
    const keyEnd = valueEnd(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipSpace(text, skipSpace(text, keyEnd) + 1); // past ':'
    const end = valueEnd(text, i);
    out.set(key, text.slice(i, end));
    i = skipSpace(text, end);
    if (text[i] === ',') i = skipSpace(text, i + 1);
  }
  return out;
}

const GO_ESCAPES: Record<string, string> = { '<': '\\u003c', '>': '\\u003e', '&': '\\u0026', '\u2028': '\\u2028', '\u2029': '\\u2029' };

/** Go's json.Compact with HTML escaping: what json.Marshal makes of a json.RawMessage. */
export function goCompact(raw: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (inString) {
      if (c === '\\') {
        out += c + raw[++i];
        continue;
      }
      if (c === '"') inString = false;
      out += GO_ESCAPES[c] ?? c;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (!' \t\n\r'.includes(c)) out += c;
  }
  return out;
}

/** json.Marshal of a map[string]any whose values are already encoded. */
function marshalMap(fields: [string, string][]): string {
  const sorted = [...fields].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return `{${sorted.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
}

export interface LegacyLayer {
  id: string;
  /** The layer's `json` file. */
  json: string;
}

/**
 * One legacy entry per layer: the id hashes the layer's JSON with its chain id; the top layer's JSON carries
 * part of the image config.
 */
export function legacyLayers(diffIds: string[], config: Buffer): LegacyLayer[] {
  const raw = rawMembers(config.toString('utf8'));
  const out: LegacyLayer[] = [];
  let chainId = '';
  let parent = '';
  diffIds.forEach((diffId, i) => {
    const fields: [string, string][] = [];
    if (parent) fields.push(['parent', JSON.stringify(parent)]);
    if (i === diffIds.length - 1) {
      for (const f of TOP_LAYER_FIELDS) fields.push([f, raw.has(f) ? goCompact(raw.get(f)!) : 'null']);
    }
    chainId = chainId ? `sha256:${sha256Hex(`${chainId} ${diffId}`)}` : diffId;
    const id = sha256Hex(marshalMap([...fields, ['layer_id', JSON.stringify(chainId)]]));
    out.push({ id, json: marshalMap([...fields, ['id', JSON.stringify(id)]]) });
    parent = id;
  });
  return out;
}

/** The `repositories` file: repository -> tag -> top layer id, for each "repo:tag". */
export function repositoriesFile(repoTags: string[], topLayerId: string | undefined): string {
  const repos: Record<string, Record<string, string>> = {};
  if (topLayerId) {
    for (const t of repoTags) {
      const colon = t.lastIndexOf(':');
      (repos[t.slice(0, colon)] ??= {})[t.slice(colon + 1)] = topLayerId;
    }
  }
  const sortedKeys = (o: Record<string, unknown>) => Object.keys(o).sort();
  return `{${sortedKeys(repos).map((r) => `${JSON.stringify(r)}:{${sortedKeys(repos[r]).map((t) => `${JSON.stringify(t)}:${JSON.stringify(repos[r][t])}`).join(',')}}`).join(',')}}`;
}
