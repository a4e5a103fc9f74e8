/**
 * A parsed Dockerfile cut into stages, with Docker's build-argument scoping: ARGs before the first FROM are
 * global and only seen by FROM lines (a stage sees one after `ARG NAME` redeclares it); a stage's ARG takes the
 * `--build-arg` value, else its default, else the global one. The platform ARGs are predefined globals; the
 * proxy ARGs reach RUN without being declared. Only the stages the target needs are built.
 */
import { DockerfileError } from '../errors.js';
import { expandWord, type Lookup } from './lex.js';
import { splitRawWords, type Instruction, type ParsedDockerfile } from './parse.js';

export interface Stage {
  index: number;
  /** Lower case, as Docker compares stage names. */
  name?: string;
  from: Instruction;
  /** The instructions after FROM. */
  steps: Instruction[];
}

export interface Plan {
  stages: Stage[];
  /** Global ARG values (predefined platform ARGs included); undefined when declared without a value. */
  globals: Map<string, string | undefined>;
  /** Indexes of the stages to build, in order; the last one is the target. */
  needed: number[];
  /** For each needed stage, the stages it uses. */
  deps: Map<number, number[]>;
}

export const PROXY_ARGS = ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY'].flatMap((n) => [n, n.toLowerCase()]);

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export function platformArgs(target: Platform, build: Platform): Map<string, string> {
  const fmt = (p: Platform) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
  return new Map([
    ['TARGETPLATFORM', fmt(target)], ['TARGETOS', target.os], ['TARGETARCH', target.architecture], ['TARGETVARIANT', target.variant ?? ''],
    ['BUILDPLATFORM', fmt(build)], ['BUILDOS', build.os], ['BUILDARCH', build.architecture], ['BUILDVARIANT', build.variant ?? ''],
  ]);
}

/** `ARG A=1 B` as name/default pairs (the defaults raw, unexpanded). */
export function argDeclarations(ins: Instruction, file: string, escape: string): [string, string | undefined][] {
  const words = splitRawWords(ins.args, escape);
  if (words.length === 0) throw new DockerfileError(file, ins.line, 'ARG requires at least one argument');
  return words.map((w) => {
    const eq = w.indexOf('=');
    const name = eq < 0 ? w : w.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new DockerfileError(file, ins.line, `ARG: invalid name "${name}"`);
    return [name, eq < 0 ? undefined : w.slice(eq + 1)];
  });
}

/** Global ARGs, stages, and the stages the target needs. */
export function plan(df: ParsedDockerfile, buildArgs: Map<string, string>, predefined: Map<string, string>, target?: string): Plan {
  const { file, escape } = df;
  const globals = new Map<string, string | undefined>(predefined);
  const stages: Stage[] = [];
  for (const ins of df.instructions) {
    if (ins.keyword === 'FROM') {
      const words = splitRawWords(ins.args, escape);
      let name: string | undefined;
      if (words.length === 3 && words[1]!.toUpperCase() === 'AS') name = words[2]!.toLowerCase();
      else if (words.length !== 1) throw new DockerfileError(file, ins.line, 'FROM requires either one argument, or three: FROM <image> [AS <name>]');
      if (name !== undefined && !/^[a-z][a-z0-9-_.]*$/.test(name)) throw new DockerfileError(file, ins.line, `invalid name for build stage: "${words[2]}", name can't start with a number or contain symbols`);
      if (name !== undefined && stages.some((s) => s.name === name)) throw new DockerfileError(file, ins.line, `duplicate name for build stage: "${name}"`);
      stages.push({ index: stages.length, name, from: ins, steps: [] });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG') throw new DockerfileError(file, ins.line, `${ins.keyword} before the first FROM: only ARG may come before it`);
      const lookup: Lookup = (n) => globals.get(n);
      for (const [name, def] of argDeclarations(ins, file, escape)) {
        globals.set(name, buildArgs.get(name) ?? (def === undefined ? undefined : expandWord(def, lookup, escape)));
      }
    } else {
      stages[stages.length - 1]!.steps.push(ins);
    }
  }
  if (stages.length === 0) throw new DockerfileError(file, 1, 'no FROM instruction: a Dockerfile must start a stage with FROM');

  let last = stages.length - 1;
  if (target !== undefined) {
    const t = stages.find((s) => s.name === target.toLowerCase());
    if (!t) throw new DockerfileError(file, 1, `the target stage "${target}" is not defined (stages: ${stages.map((s) => s.name ?? s.index).join(', ')})`);
    last = t.index;
  }
  const deps = new Map<number, number[]>();
  const visit = (i: number) => {
    if (deps.has(i)) return;
    const d = stageDependencies(stages[i]!, stages, globals, escape);
    deps.set(i, d);
    for (const dep of d) visit(dep);
  };
  visit(last);
  return { stages, globals, needed: [...deps.keys()].sort((a, b) => a - b), deps };
}

/** Earlier stages a stage uses: as its base, by COPY --from, by RUN --mount from=. */
function stageDependencies(stage: Stage, stages: Stage[], globals: Map<string, string | undefined>, escape: string): number[] {
  const deps: number[] = [];
  const byRef = (ref: string): number | undefined => {
    const named = stages.find((s) => s.name === ref.toLowerCase() && s.index < stage.index);
    if (named) return named.index;
    if (/^\d+$/.test(ref) && Number(ref) < stage.index) return Number(ref);
    return undefined;
  };
  const lookup: Lookup = (n) => globals.get(n);
  const base = byRef(expandWord(splitRawWords(stage.from.args, escape)[0] ?? '', lookup, escape));
  if (base !== undefined) deps.push(base);
  for (const ins of stage.steps) {
    for (const f of ins.flags) {
      if (ins.keyword !== 'RUN' && f.name === 'from' && f.value) {
        const d = byRef(f.value);
        if (d !== undefined) deps.push(d);
      }
      if (ins.keyword === 'RUN' && f.name === 'mount' && f.value) {
        const m = /(?:^|,)from=([^,]+)/.exec(f.value);
        const d = m ? byRef(m[1]!) : undefined;
        if (d !== undefined) deps.push(d);
      }
    }
  }
  return deps;
}
