/**
 * `bud`: a Dockerfile walked over the builder API. Each stage is one working container made by `from`; RUN goes
 * through `run`, COPY and ADD through `add`, the settings instructions through `config`, and with layers on
 * (the default) every step is committed by `commit`, so its image can be found again in the build cache.
 * Steps that only change settings are committed as empty layers: their file changes (a WORKDIR made) go
 * into the next layer, as buildah does. A cache hit skips the step and moves the stage to the cached image;
 * the container is made again only when a later step misses.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { add } from '../builder/add.js';
import { config as editConfig, setConfigFields } from '../builder/config.js';
import { mount, remove } from '../builder/containers.js';
import { baseImage, from, type PullPolicy } from '../builder/from.js';
import { loadRecord } from '../builder/records.js';
import { commit } from '../commit/commit.js';
import { DockerfileError, HodError, RunError } from '../errors.js';
import { formatReference, normalizeLocal } from '../image/reference.js';
import { hostPlatform, type ContainerConfig, type ImageFormat } from '../image/types.js';
import type { PullOptions } from '../pull/pull.js';
import { run } from '../run/run.js';
import type { NetworkMode } from '../run/spec.js';
import { tmpName } from '../store/atomic.js';
import { safeJoin } from '../store/pathsafe.js';
import { addStoredSignatures } from '../store/signatures.js';
import type { Signer, SignOptions } from '../signature/sign.js';
import type { Store } from '../store/store.js';
import { BuildCache, cacheKey } from './cache.js';
import { cacheComment, RemoteCache } from './remote-cache.js';
import { expandWord, type Lookup } from './lex.js';
import { parseDockerfile, splitRawWords, type Instruction, type ParsedDockerfile } from './parse.js';
import { planCopy } from './copy-step.js';
import { runStep } from './run-step.js';
import { DEFAULT_SHELL, settingsEdit } from './settings.js';
import { argDeclarations, plan, platformArgs, PROXY_ARGS, type Platform, type Stage } from './stages.js';

export interface BudOptions {
  /** The Dockerfile's text and the name errors show for it. */
  dockerfile: { content: string; name: string };
  contextDir: string;
  tags?: string[];
  buildArgs?: Map<string, string>;
  target?: string;
  /** Commit and cache every step (default true). */
  layers?: boolean;
  noCache?: boolean;
  pull?: PullPolicy;
  pullOptions?: PullOptions;
  format?: ImageFormat;
  squash?: boolean;
  timestamp?: number;
  /** `k=v` labels and annotations for the final image. */
  labels?: string[];
  annotations?: string[];
  isolation?: 'oci' | 'chroot';
  network?: NetworkMode;
  runtime?: string;
  ignoreFile?: string;
  /** `--build-context name=dir|docker-image://ref`: what COPY --from=name reads. */
  buildContexts?: Map<string, string>;
  /** SSH agent id -> socket, for RUN --mount=type=ssh. */
  ssh?: Map<string, string>;
  /** `--cache-to REPO`: push each built step's image as REPO:<cache key>. */
  cacheTo?: string;
  /** `--cache-from REPO`: look for a step's image there before building it. */
  cacheFrom?: string[];
  /** Secret id -> host file, for RUN --mount=type=secret. */
  secrets?: Map<string, string>;
  /** Remove the working containers afterwards (default true), even when the build fails. */
  rm?: boolean;
  platform?: Platform;
  /** Stages that do not depend on each other build at the same time, this many at once (default 1). */
  jobs?: number;
  /** Sign the final image as its first tag (`--sign-by`...); the signatures stay with it for push. */
  sign?: SignOptions;
  /** The signatures' `optional.creator`. */
  creator?: string;
  /** Progress for people ("STEP 1/3: FROM ..."), one line at a time. */
  log?: (line: string) => void;
  warn?: (line: string) => void;
}

export interface BudResult {
  id: string;
  names: string[];
}

interface StageState {
  stage: Stage;
  /** The image the stage stands on; undefined for scratch before any commit. */
  imageId?: string;
  /** Settings as they are now, for expansion: the image's, plus the Docker-only ones an OCI image drops. */
  config: ContainerConfig;
  /** Shell, Healthcheck and OnBuild as this stage has them (an OCI image cannot carry them). */
  dockerOnly: Pick<ContainerConfig, 'Shell' | 'Healthcheck' | 'OnBuild'>;
  /** The working container, when it stands on imageId. */
  ctr?: string;
  args: Map<string, string | undefined>;
  cmdSet: boolean;
  /** A step of this stage was built: the rest cannot be found in the cache (their parents are new). */
  mustMiss: boolean;
}

const shortId = (id: string) => id.slice(0, 11);
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

class Build {
  private signer: Signer | undefined;
  readonly df: ParsedDockerfile;
  readonly cache: BuildCache;
  readonly log: (line: string) => void;
  readonly warn: (line: string) => void;
  readonly buildArgs: Map<string, string>;
  readonly usedArgs = new Set<string>();
  readonly stageImages = new Map<number, string>();
  readonly containers = new Set<string>();
  readonly scratchDirs: string[] = [];
  globals = new Map<string, string | undefined>();
  stages: Stage[] = [];

  readonly remote: RemoteCache;

  constructor(readonly store: Store, readonly opts: BudOptions) {
    this.df = parseDockerfile(opts.dockerfile.content, opts.dockerfile.name);
    this.cache = new BuildCache(store);
    this.log = opts.log ?? (() => undefined);
    this.warn = opts.warn ?? this.log;
    this.buildArgs = opts.buildArgs ?? new Map();
    this.remote = new RemoteCache(store, { to: opts.cacheTo, from: opts.cacheFrom ?? [], client: opts.pullOptions ?? {}, warn: this.warn, log: this.log });
  }

  get layers(): boolean {
    return this.opts.layers !== false;
  }

  fail(ins: Instruction, message: string, cause?: unknown): DockerfileError {
    return new DockerfileError(this.df.file, ins.line, message, { cause });
  }

  async build(): Promise<BudResult> {
    // keys unlocked before any step runs: a wrong passphrase costs no build
    this.signer = this.opts.sign && (await import('../signature/sign.js')).makeSigner(this.opts.sign, this.opts.tags?.[0] && formatReference(normalizeLocal(this.opts.tags[0])), this.opts.creator ?? 'hod');
    const target = this.opts.platform ?? hostPlatform();
    const p = plan(this.df, this.buildArgs, platformArgs(target, hostPlatform()), this.opts.target);
    this.globals = p.globals;
    this.stages = p.stages;
    for (const [name] of this.globals) this.usedArgs.add(name);
    let last: StageState | undefined;
    try {
      await this.buildStages(p.needed, p.deps, async (i) => {
        const st = await this.buildStage(p.stages[i]!);
        this.stageImages.set(i, st.imageId!);
        if (i === p.needed[p.needed.length - 1]) last = st;
      });
      const unused = [...this.buildArgs.keys()].filter((k) => !this.usedArgs.has(k) && !PROXY_ARGS.includes(k));
      if (unused.length) this.warn(`[Warning] one or more build args were not consumed: [${unused.sort().join(' ')}]`);
      const result = await this.finish(last!);
      await this.remote.flush();
      return result;
    } finally {
      this.cache.save();
      if (this.opts.rm !== false) for (const id of this.containers) await remove(this.store, id).catch(() => undefined);
      for (const d of this.scratchDirs) fs.rmSync(d, { recursive: true, force: true });
    }
  }

  /** Each stage once the stages it uses are built, up to `jobs` at a time; the first failure stops the rest. */
  private async buildStages(needed: number[], deps: Map<number, number[]>, buildOne: (i: number) => Promise<void>): Promise<void> {
    const jobs = Math.max(1, this.opts.jobs ?? 1);
    const done = new Set<number>();
    const started = new Set<number>();
    let failure: unknown;
    await new Promise<void>((resolve) => {
      let running = 0;
      const pump = () => {
        if (failure !== undefined || done.size === needed.length) {
          if (running === 0) resolve();
          return;
        }
        for (const i of needed) {
          if (running >= jobs) break;
          if (started.has(i) || !deps.get(i)!.every((d) => done.has(d))) continue;
          started.add(i);
          running++;
          buildOne(i).then(() => done.add(i), (err) => (failure ??= err)).finally(() => {
            running--;
            pump();
          });
        }
      };
      pump();
    });
    if (failure !== undefined) throw failure;
  }

  private prefix(stage: Stage): string {
    return this.stages.length > 1 ? `[${stage.index + 1}/${this.stages.length}] ` : '';
  }

  private lookupFor(st: StageState): Lookup {
    return (name) => {
      const env = st.config.Env?.find((e) => e.startsWith(`${name}=`));
      if (env !== undefined) return env.slice(name.length + 1);
      return st.args.get(name);
    };
  }

  private async buildStage(stage: Stage): Promise<StageState> {
    const st = await this.startStage(stage);
    const triggers = (st.config.OnBuild ?? []).flatMap((t) => parseDockerfile(t, this.df.file).instructions.map((i) => ({ ...i, line: stage.from.line, endLine: stage.from.line })));
    const steps = [...triggers, ...stage.steps];
    const total = steps.length + 1;
    for (const [n, ins] of steps.entries()) {
      this.log(`${this.prefix(stage)}STEP ${n + 2}/${total}: ${ins.text}`);
      await this.step(st, ins);
    }
    if (!this.layers || st.imageId === undefined) await this.commitStage(st, stage.from);
    return st;
  }

  private async startStage(stage: Stage): Promise<StageState> {
    const ins = stage.from;
    const total = stage.steps.length + 1;
    this.log(`${this.prefix(stage)}STEP 1/${total}: ${ins.text}`);
    const lookup: Lookup = (n) => this.globals.get(n);
    const raw = splitRawWords(ins.args, this.df.escape)[0] ?? '';
    const undefinedArgs = [...raw.matchAll(/\$(?:\{([A-Za-z_]\w*)\}|([A-Za-z_]\w*))/g)].map((m) => m[1] ?? m[2]!).filter((n) => this.globals.get(n) === undefined);
    const name = expandWord(raw, lookup, this.df.escape);
    if (undefinedArgs.length) {
      throw this.fail(ins, `FROM ${raw}: build argument ${undefinedArgs.map((a) => `"${a}"`).join(', ')} is not defined: declare it with ARG before the first FROM, with a default or a --build-arg value`);
    }
    if (name === '') throw this.fail(ins, 'FROM names no image');
    const st: StageState = { stage, config: {}, dockerOnly: {}, args: new Map(), cmdSet: false, mustMiss: !!this.opts.noCache };
    const ref = [...this.stageImages.keys()].find((i) => i < stage.index && this.stages[i]!.name === name.toLowerCase());
    let imageId: string | undefined;
    if (ref !== undefined) imageId = this.stageImages.get(ref);
    else if (name.toLowerCase() !== 'scratch') {
      const platformFlag = ins.flags.find((f) => f.name === 'platform')?.value;
      const platform = platformFlag ? expandWord(platformFlag, lookup, this.df.escape) : undefined;
      try {
        const img = await baseImage(this.store, name, {
          pull: this.opts.pull,
          pullOptions: { ...this.opts.pullOptions, platform: platform ? platformOf(platform) : this.opts.pullOptions?.platform },
        });
        imageId = img.id;
      } catch (err) {
        throw this.fail(ins, `FROM ${name}: ${(err as Error).message}`, err);
      }
    }
    st.imageId = imageId;
    // as buildah and Docker: a stage from scratch has the default PATH
    if (!imageId) st.config = { Env: [`PATH=${DEFAULT_PATH}`] };
    if (imageId) {
      const cfg = this.store.images.config(this.store.images.get(imageId)).config ?? {};
      st.config = { ...cfg };
      st.dockerOnly = { Shell: cfg.Shell, Healthcheck: cfg.Healthcheck };
      // the base's ONBUILD triggers run now and are not passed on
      delete st.config.OnBuild;
      if (cfg.OnBuild?.length) st.config.OnBuild = cfg.OnBuild;
    }
    return st;
  }

  private stageNameMatches(index: number, name: string): boolean {
    return this.stages[index]!.name === name.toLowerCase() || String(index) === name;
  }

  /** The working container at the stage's current image, made when first needed. */
  private async container(st: StageState): Promise<string> {
    if (st.ctr) return st.ctr;
    const rec = await from(this.store, st.imageId ?? 'scratch', { format: this.opts.format, pull: 'never' });
    this.containers.add(rec.id);
    st.ctr = rec.id;
    setConfigFields(this.store, rec.id, { ...st.dockerOnly, OnBuild: undefined, ...(st.imageId ? {} : { Env: st.config.Env }) });
    await this.makeDirs(rec.id, st.config);
    return rec.id;
  }

  /**
   * The WORKDIR and VOLUME directories exist in the root filesystem, as buildah makes them: they go into the
   * next step's layer (their own steps commit no layer).
   */
  private async makeDirs(ctr: string, config: ContainerConfig): Promise<void> {
    const dirs = [config.WorkingDir, ...Object.keys(config.Volumes ?? {})].filter((d): d is string => !!d && d !== '/');
    if (dirs.length === 0) return;
    const { path: rootfs } = await mount(this.store, ctr);
    for (const d of dirs) {
      const host = safeJoin(rootfs, d, { followFinal: true });
      if (!fs.existsSync(host)) fs.mkdirSync(host, { recursive: true, mode: 0o755 });
    }
  }

  private async dropContainer(st: StageState): Promise<void> {
    if (!st.ctr) return;
    const id = st.ctr;
    st.ctr = undefined;
    this.containers.delete(id);
    await remove(this.store, id).catch(() => undefined);
  }

  private settingsContext(st: StageState) {
    return {
      file: this.df.file, escape: this.df.escape, lookup: this.lookupFor(st), shell: st.dockerOnly.Shell ?? DEFAULT_SHELL,
      cmdSet: st.cmdSet, workingDir: st.config.WorkingDir ?? '/', exposedPorts: st.config.ExposedPorts,
    };
  }

  /** Args in scope that RUN sees as environment variables (the image's ENV wins), and the proxy args. */
  private runEnv(st: StageState): string[] {
    const env: string[] = [];
    for (const [k, v] of st.args) if (v !== undefined && !st.config.Env?.some((e) => e.startsWith(`${k}=`))) env.push(`${k}=${v}`);
    for (const k of PROXY_ARGS) if (this.buildArgs.has(k) && !st.args.has(k)) env.push(`${k}=${this.buildArgs.get(k)}`);
    return env;
  }

  private async step(st: StageState, ins: Instruction): Promise<void> {
    if (ins.keyword === 'FROM') throw this.fail(ins, 'FROM inside a stage');
    if (ins.keyword === 'ARG') return this.argStep(st, ins);
    if (ins.keyword === 'RUN') return this.runInstruction(st, ins);
    if (ins.keyword === 'COPY' || ins.keyword === 'ADD') return this.copyInstruction(st, ins);
    const edit = settingsEdit(ins, this.settingsContext(st));
    await this.cached(st, ins, [edit.resolved], async () => {
      const ctr = await this.container(st);
      if (edit.options) editConfig(this.store, ctr, edit.options, { literalEnv: true, warn: () => undefined });
      const rec = edit.fields ? setConfigFields(this.store, ctr, edit.fields) : loadRecord(this.store, ctr);
      if (ins.keyword === 'WORKDIR' || ins.keyword === 'VOLUME') await this.makeDirs(ctr, rec.image.config);
      return true;
    });
    if (edit.cmdSet) st.cmdSet = true;
    if (edit.fields && 'Shell' in edit.fields) st.dockerOnly.Shell = edit.fields.Shell;
    if (edit.fields && 'Healthcheck' in edit.fields) st.dockerOnly.Healthcheck = edit.fields.Healthcheck;
  }

  private async argStep(st: StageState, ins: Instruction): Promise<void> {
    const lookup = this.lookupFor(st);
    const parts: string[] = [];
    for (const [name, def] of argDeclarations(ins, this.df.file, this.df.escape)) {
      this.usedArgs.add(name);
      const value = this.buildArgs.get(name) ?? (def !== undefined ? expandWord(def, lookup, this.df.escape) : this.globals.get(name));
      st.args.set(name, value);
      parts.push(value === undefined ? name : `${name}=${value}`);
    }
    await this.cached(st, ins, [`ARG ${parts.join(' ')}`], async () => {
      await this.container(st);
      return true;
    });
  }

  private async runInstruction(st: StageState, ins: Instruction): Promise<void> {
    const env = this.runEnv(st);
    const step = await runStep(ins, {
      file: this.df.file, escape: this.df.escape, lookup: this.lookupFor(st), shell: st.dockerOnly.Shell ?? DEFAULT_SHELL,
      contextDir: this.opts.contextDir, cacheMountDir: path.join(this.store.paths.root, 'build-cache', 'mounts'),
      secrets: this.opts.secrets ?? new Map(), ssh: this.opts.ssh ?? new Map(), rootfsOf: (ref) => this.rootfsOf(ref, st.stage.index, ins), scratch: () => this.scratch(),
    });
    const argText = env.filter((e) => !PROXY_ARGS.includes(e.slice(0, e.indexOf('=')))).sort();
    await this.cached(st, ins, [step.resolved, argText], async () => {
      const ctr = await this.container(st);
      const mounts = [...(await this.volumeMounts(ctr, st.config)), ...step.mounts];
      let code: number;
      try {
        code = await run(this.store, ctr, step.argv, {
          env: [...env, ...step.env], mounts, network: step.network ?? this.opts.network, isolation: this.opts.isolation,
          runtime: this.opts.runtime, stdio: ['ignore', 2, 2],
        });
      } catch (err) {
        if (err instanceof HodError && !(err instanceof DockerfileError)) throw this.fail(ins, `RUN: ${err.message}`, err);
        throw err;
      }
      if (code !== 0) {
        throw new RunError(`${this.df.file}:${ins.line}: error building at STEP "${ins.text.split('\n')[0]}": exit status ${code}`, code);
      }
      return false;
    }, argText.length ? `|${argText.length} ${argText.join(' ')} ` : '');
  }

  private async copyInstruction(st: StageState, ins: Instruction): Promise<void> {
    const plan = await planCopy(ins, {
      file: this.df.file, escape: this.df.escape, lookup: this.lookupFor(st), contextDir: this.opts.contextDir, ignoreFile: this.opts.ignoreFile,
      buildContexts: this.opts.buildContexts, mustMiss: st.mustMiss, hashCache: this.cache.hashCache(),
      imageFor: (ref) => this.imageFor(ref, st.stage.index, ins), scratch: () => this.scratch(),
    });
    await this.cached(st, ins, [plan.resolved, plan.contentKey], async () => {
      const ctr = await this.container(st);
      try {
        const res = await add(this.store, ctr, plan.sources, plan.dest, {
          chown: plan.chown, chmod: plan.chmod, from: plan.fromImage, contextDir: plan.fromImage ? undefined : plan.contextDir,
          ignoreFile: plan.fromImage ? undefined : plan.ignoreFile, extract: ins.keyword === 'ADD', quiet: plan.checksum === undefined,
        });
        if (plan.checksum !== undefined && `sha256:${res.digest}` !== plan.checksum) {
          throw this.fail(ins, `ADD: the download has the digest sha256:${res.digest}, not the --checksum ${plan.checksum}`);
        }
      } catch (err) {
        if (err instanceof HodError && !(err instanceof DockerfileError)) throw this.fail(ins, `${ins.keyword}: ${err.message}`, err);
        throw err;
      }
      return false;
    }, '', `${ins.keyword} ${plan.sources.join(' ')} ${plan.dest}`);
  }


  /**
   * What a RUN writes under a declared VOLUME is thrown away, as Docker does: each volume path gets a scratch
   * copy of what is there, bound over it for the step.
   */
  private async volumeMounts(ctr: string, config: ContainerConfig): Promise<string[]> {
    const vols = Object.keys(config.Volumes ?? {});
    if (vols.length === 0) return [];
    const { path: rootfs } = await mount(this.store, ctr);
    return vols.map((v) => {
      const copy = path.join(this.scratch(), 'volume');
      const host = safeJoin(rootfs, v, { followFinal: true });
      if (fs.existsSync(host)) execFileSync('cp', ['-a', host, copy]);
      else fs.mkdirSync(copy);
      return `type=bind,source=${copy},destination=${v},rw`;
    });
  }

  /** A stage (by name or index) or an image, for COPY --from and RUN --mount from=: an image id. */
  private async imageFor(ref: string, before: number, ins: Instruction): Promise<string> {
    for (const [i, id] of this.stageImages) if (i < before && this.stageNameMatches(i, ref)) return id;
    try {
      return (await baseImage(this.store, ref, { pull: this.opts.pull, pullOptions: this.opts.pullOptions })).id;
    } catch (err) {
      throw this.fail(ins, `--from=${ref}: no such stage, and no such image: ${(err as Error).message}`, err);
    }
  }

  private async rootfsOf(ref: string, before: number, ins: Instruction): Promise<string> {
    const id = await this.imageFor(ref, before, ins);
    const rec = await from(this.store, id, { pull: 'never' });
    this.containers.add(rec.id);
    return (await mount(this.store, rec.id)).path;
  }

  private scratch(): string {
    const d = tmpName(this.store.paths.tmp, 'bud');
    fs.mkdirSync(d, { recursive: true });
    this.scratchDirs.push(d);
    return d;
  }

  /**
   * One step through the cache: a hit moves the stage to the cached image; a miss runs `work` (true when the
   * step only changed settings) and, with layers, commits.
   */
  private async cached(st: StageState, ins: Instruction, keyParts: unknown[], work: () => Promise<boolean>, runPrefix = '', historyText?: string): Promise<void> {
    for (const p of keyParts) if (p instanceof Promise) p.catch(() => undefined);
    const parent = st.imageId ?? 'scratch';
    const keyOf = async () => cacheKey([parent, this.opts.format ?? 'oci', ...(await Promise.all(keyParts))]);
    if (this.layers && !this.opts.noCache && !st.mustMiss) {
      const key = await keyOf();
      let hit = this.cache.lookup(key);
      if (!hit && this.remote.enabled) {
        hit = await this.remote.fetch(key);
        if (hit) this.cache.record(key, hit);
      }
      if (hit) {
        this.log(`--> Using cache ${hit}`);
        this.log(`--> ${shortId(hit)}`);
        await this.dropContainer(st);
        st.imageId = hit;
        const cfg = this.store.images.config(this.store.images.get(hit)).config ?? {};
        st.config = { ...cfg, ...st.dockerOnly };
        return;
      }
    }
    const settingsOnly = await work();
    st.config = { ...loadRecord(this.store, st.ctr!).image.config };
    // what comes after a new image has a new parent: nothing later in this stage can be a cache hit (unless
    // --timestamp makes the images reproducible)
    st.mustMiss = this.opts.timestamp === undefined;
    const key = await keyOf();
    if (!this.layers) return;
    const text = historyText ?? ins.text;
    const createdBy = settingsOnly ? `/bin/sh -c #(nop) ${text}` : ins.keyword === 'RUN' ? `${runPrefix}/bin/sh -c ${ins.args}` : `/bin/sh -c #(nop) ${text}`;
    const res = await commit(this.store, st.ctr!, undefined, {
      format: this.opts.format, emptyLayer: settingsOnly, alwaysLayer: !settingsOnly, createdBy, timestamp: this.opts.timestamp, warn: () => undefined,
      intermediate: true, historyComment: cacheComment(key),
    });
    st.imageId = res.id;
    this.cache.record(key, res.id);
    this.remote.publish(key, res.id);
    this.log(`--> ${shortId(res.id)}`);
  }

  /** Without layers, or for a stage with nothing but FROM: one commit of the stage's container. */
  private async commitStage(st: StageState, ins: Instruction): Promise<void> {
    const ctr = await this.container(st);
    const res = await commit(this.store, ctr, undefined, { format: this.opts.format, createdBy: `/bin/sh -c #(nop) ${ins.text}`, timestamp: this.opts.timestamp, warn: () => undefined, intermediate: true });
    st.imageId = res.id;
  }

  /** The target's image, with the final touches (labels, annotations, squash) and the names. */
  private async finish(st: StageState): Promise<BudResult> {
    const names = (this.opts.tags ?? []).map((t) => formatReference(normalizeLocal(t)));
    let id = st.imageId!;
    const touches = (this.opts.labels?.length ?? 0) > 0 || (this.opts.annotations?.length ?? 0) > 0 || this.opts.squash;
    if (touches) {
      await this.dropContainer(st);
      const ctr = await this.container(st);
      editConfig(this.store, ctr, { label: this.opts.labels, annotation: this.opts.annotations }, { warn: this.warn });
      const res = await commit(this.store, ctr, undefined, {
        format: this.opts.format, squash: this.opts.squash, emptyLayer: !this.opts.squash, timestamp: this.opts.timestamp,
        createdBy: '/bin/sh -c #(nop) LABEL and ANNOTATION from the command line', warn: this.warn, intermediate: true,
      });
      id = res.id;
    }
    for (const n of names) this.log(`COMMIT ${n}`);
    const desc = this.store.images.get(id).manifestDescriptor;
    if (this.signer) addStoredSignatures(this.store.paths, desc.digest, await this.signer(desc.digest));
    if (names.length) this.store.images.add(desc, names);
    this.log(`--> ${shortId(id)}`);
    for (const n of names) this.log(`Successfully tagged ${n}`);
    return { id, names };
  }
}

function platformOf(s: string): Platform {
  const [os, architecture, variant] = s.split('/');
  if (!os || !architecture) throw new HodError('EUSAGE', `platform "${s}" is not os/arch[/variant]`);
  return { os, architecture, variant };
}

/** Build the Dockerfile in `opts`; returns the final image's id and names. */
export async function bud(store: Store, opts: BudOptions): Promise<BudResult> {
  return new Build(store, opts).build();
}
