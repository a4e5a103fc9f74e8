/**
 * `WWW-Authenticate` parsing (RFC 7235): one or more challenges, each a scheme and comma-separated
 * `key=value` or `key="quoted value"` parameters.
 */
export interface Challenge {
  /** Lower-cased: "basic", "bearer". */
  scheme: string;
  params: Record<string, string>;
}

export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  const out: Challenge[] = [];
  for (const h of [header ?? []].flat()) {
    let i = 0;
    let current: Challenge | undefined;
    while (i < h.length) {
      while (i < h.length && (h[i] === ' ' || h[i] === ',')) i++;
      const tok = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+/.exec(h.slice(i));
      if (!tok) break;
      i += tok[0].length;
      let j = i;
      while (h[j] === ' ') j++;
      if (h[j] === '=' && current) {
        // a parameter of the current challenge
        j++;
        while (h[j] === ' ') j++;
        let value = '';
        if (h[j] === '"') {
          j++;
          while (j < h.length && h[j] !== '"') {
            if (h[j] === '\\' && j + 1 < h.length) j++;
            value += h[j++];
          }
          j++;
        } else {
          const m = /^[^,\s]*/.exec(h.slice(j))!;
          value = m[0];
          j += value.length;
        }
        current.params[tok[0].toLowerCase()] = value;
        i = j;
      } else {
        current = { scheme: tok[0].toLowerCase(), params: {} };
        out.push(current);
      }
    }
  }
  return out;
}
