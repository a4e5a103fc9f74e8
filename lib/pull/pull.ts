/**
 * `hod pull`: an image from a registry (a name without a transport is a docker:// reference, short names
 * on docker.io) or from a file transport into the store, under its reference as the name.
 */
import { formatReference, normalizeDocker, normalizeLocal } from '../image/reference.js';
import type { TransportName } from '../image/transport.js';
import type { Platform } from '../image/types.js';
import { HodError } from '../errors.js';
import { DockerSource, parseDockerName, type DockerOptions } from '../registry/docker-transport.js';
import { loadRegistriesConf } from '../registry/registries-conf.js';
import { resolveShortName } from '../registry/shortnames.js';
import type { Store } from '../store/store.js';
import { copyImage, type ProgressEvent } from './copy-image.js';
import { openSource } from './open.js';
import { StoreDestination } from './store-destination.js';
import { parseDockerArchiveName, parseLayoutName, parseTransportName } from './transport-name.js';

export interface PullOptions extends DockerOptions {
  platform?: Partial<Platform>;
  jobs?: number;
  progress?: (e: ProgressEvent) => void;
  /**
   * The trust policy file (`--signature-policy`); default ~/.config/containers/policy.json, else
   * /etc/containers/policy.json, else none (every image accepted).
   */
  signaturePolicy?: string;
  /** Lines for the user ("Trying to pull ..."), as buildah prints them on stderr. */
  note?: (line: string) => void;
  /** false: store the blobs only, leaving the layers to be unpacked by the first `from` that needs them. */
  unpack?: boolean;
}

/**
 * The transport and the name the pulled image gets in the store: a registry reference as it is; a
 * docker-archive's tag as docker save wrote it; a layout's or archive's ref as a local name (localhost/REF);
 * none for `dir:` or an image picked by position.
 */
export function pullTarget(name: string): { t: TransportName; localName?: string } {
  const t = parseTransportName(name) ?? { transport: 'docker', rest: name };
  if (t.transport === 'docker') return { t, localName: formatReference(normalizeDocker(t.rest)) };
  if (t.transport === 'docker-archive') return { t, localName: parseDockerArchiveName(t).ref };
  if (t.transport === 'dir') return { t };
  const ref = parseLayoutName(t).ref;
  return { t, localName: ref ? localNameOf(ref) : undefined };
}

/** An OCI ref may hold what an image name cannot ("v1+build", "Latest"): then the image stays unnamed. */
function localNameOf(ref: string): string | undefined {
  try {
    return formatReference(normalizeLocal(ref));
  } catch {
    return undefined;
  }
}

export async function pull(store: Store, name: string, opts: PullOptions = {}): Promise<{ id: string; name?: string }> {
  if (!parseTransportName(name)) return pullByName(store, name, opts);
  const { t, localName } = pullTarget(name);
  const trust = (await import('./trust.js')).loadTrust(opts.signaturePolicy);
  const dst = new StoreDestination(store, localName ? [localName] : [], { unpack: opts.unpack });
  const ref = t.transport === 'docker' ? parseDockerName(t.rest) : undefined;
  // attachments cost a request per pull: read where the policy wants sigstore (or registries.d says to)
  const src = openSource(t, { ...opts, readAttachments: trust?.wantsSigstore(t, ref) });
  const check = await trust?.check(t, src, ref);
  await copyImage(src, dst, { platform: opts.platform, jobs: opts.jobs, progress: opts.progress, check });
  return { id: dst.id!, name: localName };
}

/**
 * A registry name without a transport, as buildah pulls one: a short name resolves through registries.conf
 * (an alias, else each unqualified-search registry in turn) and the first candidate whose manifest can be
 * read is pulled, under that candidate's full name.
 */
async function pullByName(store: Store, name: string, opts: PullOptions): Promise<{ id: string; name: string }> {
  const conf = opts.registriesConf ?? loadRegistriesConf();
  const trust = (await import('./trust.js')).loadTrust(opts.signaturePolicy);
  const failures: { name: string; err: unknown }[] = [];
  for (const ref of resolveShortName(name, conf, { interactive: false })) {
    const full = formatReference(ref);
    const t: TransportName = { transport: 'docker', rest: full };
    opts.note?.(`Trying to pull ${full}...`);
    let src: DockerSource | undefined;
    try {
      src = new DockerSource(ref, { ...opts, registriesConf: conf, readAttachments: trust?.wantsSigstore(t, ref) });
      await src.manifest();
    } catch (err) {
      await src?.close();
      failures.push({ name: full, err });
      continue;
    }
    const dst = new StoreDestination(store, [full], { unpack: opts.unpack });
    const check = await trust?.check(t, src, ref);
    await copyImage(src, dst, { platform: opts.platform, jobs: opts.jobs, progress: opts.progress, check });
    return { id: dst.id!, name: full };
  }
  if (failures.length === 1) throw failures[0].err;
  const first = failures[0].err as { code?: string };
  const lines = failures.map((f) => `  ${f.name}: ${(f.err as Error).message}`);
  throw new HodError(first.code ?? 'EPULL', `pulling "${name}": no candidate could be pulled:\n${lines.join('\n')}`);
}
