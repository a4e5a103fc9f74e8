/**
 * The instructions that only change the image's settings (ENV, LABEL, CMD, ...), turned into builder config
 * edits: the same `config` the CLI verb uses where its rules are Docker's, direct field sets where they differ
 * (CMD and ENTRYPOINT forms, HEALTHCHECK defaults).
 */
import { DockerfileError } from '../errors.js';
import type { ConfigOptions } from '../builder/config-edit.js';
import { parseDuration } from '../builder/config-edit.js';
import type { ContainerConfig, HealthConfig } from '../image/types.js';
import { expandWord, expandWords, type Lookup } from './lex.js';
import { parseDockerfile, parseKeyValues, splitRawWords, type Instruction } from './parse.js';

/** What a settings instruction does: config options, fields to set as they are, or both. */
export interface SettingsEdit {
  options?: ConfigOptions;
  fields?: Partial<ContainerConfig>;
  /** For CMD: this stage has set its own CMD (so a later ENTRYPOINT keeps it). */
  cmdSet?: boolean;
  /** The instruction as recorded in history and used in the cache key, variables expanded. */
  resolved: string;
}

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

export interface SettingsContext {
  file: string;
  escape: string;
  lookup: Lookup;
  shell: string[];
  cmdSet: boolean;
  workingDir: string;
  exposedPorts?: Record<string, object>;
}

function words(ins: Instruction, c: SettingsContext): string[] {
  return ins.json ?? splitRawWords(ins.args, c.escape).map((w) => expandWord(w, c.lookup, c.escape));
}

/** Exec form as is, shell form through the SHELL. */
function commandForm(ins: Instruction, c: SettingsContext): string[] {
  return ins.json ?? [...c.shell, ins.args];
}

export function settingsEdit(ins: Instruction, c: SettingsContext): SettingsEdit {
  const fail = (msg: string) => new DockerfileError(c.file, ins.line, msg);
  const x = (w: string) => expandWord(w, c.lookup, c.escape);
  switch (ins.keyword) {
    case 'ENV': {
      const pairs = parseKeyValues(ins, c.file, c.escape).map(([k, v]) => [x(k), x(v)] as const);
      return { options: { env: pairs.map(([k, v]) => `${k}=${v}`) }, resolved: `ENV ${pairs.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')}` };
    }
    case 'LABEL': {
      const pairs = parseKeyValues(ins, c.file, c.escape).map(([k, v]) => [x(k), x(v)] as const);
      return { options: { label: pairs.map(([k, v]) => `${k}=${v}`) }, resolved: `LABEL ${pairs.map(([k, v]) => `${JSON.stringify(k)}=${JSON.stringify(v)}`).join(' ')}` };
    }
    case 'MAINTAINER':
      return { options: { author: x(ins.args) }, resolved: `MAINTAINER ${x(ins.args)}` };
    case 'EXPOSE': {
      const ports = expandWords(ins.args, c.lookup, c.escape);
      if (ports.length === 0) throw fail('EXPOSE requires at least one argument');
      const exposed: Record<string, object> = {};
      for (const p of ports) {
        if (!/^\d{1,5}(-\d{1,5})?(\/[A-Za-z]+)?$/.test(p)) throw fail(`EXPOSE ${p}: expected port[-port][/protocol]`);
        // a port without a protocol is tcp; the protocol is kept as written, as buildah does
        exposed[p.includes('/') ? p : `${p}/tcp`] = {};
      }
      return { fields: { ExposedPorts: { ...c.exposedPorts, ...exposed } }, resolved: `EXPOSE ${Object.keys(exposed).join(' ')}` };
    }
    case 'VOLUME': {
      const vols = words(ins, c).filter((v) => v.trim() !== '');
      if (vols.length === 0) throw fail('VOLUME requires at least one argument');
      return { options: { volume: vols }, resolved: `VOLUME ${JSON.stringify(vols)}` };
    }
    case 'USER': {
      const u = x(ins.args);
      if (u === '') throw fail('USER requires an argument');
      return { options: { user: u }, resolved: `USER ${u}` };
    }
    case 'WORKDIR': {
      const w = x(ins.args);
      if (w === '') throw fail('WORKDIR requires an argument');
      const abs = w.startsWith('/') ? w : `${c.workingDir.replace(/\/+$/, '') || ''}/${w}`;
      const clean = abs.split('/').reduce<string[]>((acc, p) => (p === '' || p === '.' ? acc : p === '..' ? acc.slice(0, -1) : [...acc, p]), []);
      return { options: { workingdir: `/${clean.join('/')}` }, resolved: `WORKDIR ${w}` };
    }
    case 'STOPSIGNAL': {
      const s = x(ins.args);
      return { options: { stopSignal: s }, resolved: `STOPSIGNAL ${s}` };
    }
    case 'SHELL': {
      if (!ins.json || ins.json.length === 0) throw fail('SHELL requires the arguments to be in JSON form, e.g. SHELL ["/bin/sh", "-c"]');
      return { fields: { Shell: ins.json }, resolved: `SHELL ${JSON.stringify(ins.json)}` };
    }
    case 'CMD': {
      const cmd = commandForm(ins, c);
      return { fields: { Cmd: cmd }, cmdSet: true, resolved: `CMD ${JSON.stringify(cmd)}` };
    }
    case 'ENTRYPOINT': {
      const ep = ins.json ?? (ins.args === '' ? [] : [...c.shell, ins.args]);
      // Docker: an ENTRYPOINT drops the CMD the base image had, not one this stage set
      const fields: Partial<ContainerConfig> = { Entrypoint: ep };
      if (!c.cmdSet) fields.Cmd = undefined;
      return { fields, resolved: `ENTRYPOINT ${JSON.stringify(ep)}` };
    }
    case 'ONBUILD': {
      const trigger = ins.args.trim();
      const inner = parseDockerfile(trigger, c.file).instructions[0];
      if (!inner) throw fail('ONBUILD requires an instruction');
      if (['ONBUILD', 'FROM', 'MAINTAINER'].includes(inner.keyword)) throw fail(`${inner.keyword} isn't allowed as an ONBUILD trigger`);
      return { options: { onbuild: [trigger] }, resolved: `ONBUILD ${trigger}` };
    }
    case 'HEALTHCHECK':
      return healthcheck(ins, c, fail);
    default:
      throw fail(`${ins.keyword} is not a settings instruction`);
  }
}

function healthcheck(ins: Instruction, c: SettingsContext, fail: (m: string) => DockerfileError): SettingsEdit {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(ins.args);
  const kind = m?.[1]?.toUpperCase();
  if (kind === 'NONE') {
    if (ins.flags.length || m![2]) throw fail('HEALTHCHECK NONE takes no other arguments');
    return { fields: { Healthcheck: { Test: ['NONE'] } }, resolved: 'HEALTHCHECK NONE' };
  }
  if (kind !== 'CMD' || !m![2]) throw fail('HEALTHCHECK must be NONE or CMD followed by a command');
  const rest = m![2];
  let json: string[] | undefined;
  try {
    const v: unknown = JSON.parse(rest);
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) json = v;
  } catch {
    // shell form
  }
  const hc: HealthConfig = { Test: json ? ['CMD', ...json] : ['CMD-SHELL', rest] };
  for (const f of ins.flags) {
    const v = f.value ?? '';
    const dur = () => {
      try {
        return parseDuration(v);
      } catch (err) {
        throw fail(`HEALTHCHECK --${f.name}=${v}: ${(err as Error).message}`);
      }
    };
    if (f.name === 'interval') hc.Interval = dur();
    else if (f.name === 'timeout') hc.Timeout = dur();
    else if (f.name === 'start-period') hc.StartPeriod = dur();
    else if (f.name === 'start-interval') hc.StartInterval = dur();
    else if (f.name === 'retries') {
      if (!/^\d+$/.test(v)) throw fail(`HEALTHCHECK --retries=${v}: not a number`);
      hc.Retries = Number(v);
    } else throw fail(`HEALTHCHECK: unknown flag --${f.name}`);
  }
  return { fields: { Healthcheck: hc }, resolved: `HEALTHCHECK ${JSON.stringify(hc)}` };
}
