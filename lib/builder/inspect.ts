import { imageConfigFor } from '../commit/image-config.js';
import type { Store } from '../store/store.js';
import { findRecord, loadRecord } from './records.js';
import { summarize } from './images.js';
import { NotFoundError } from '../errors.js';

/**
 * What `inspect` shows, shaped like buildah's: the builder or image with its config both as the OCI and the
 * Docker format would write it. Templates address fields by these names (`{{.OCIv1.config.Env}}`).
 */
export function inspectContainer(store: Store, nameOrId: string): Record<string, unknown> {
  const rec = loadRecord(store, nameOrId);
  const now = new Date().toISOString();
  const inputs = { diffIds: rec.layers, emptyLayer: false, squash: false, created: now };
  const { history: _h, ...oci } = imageConfigFor(rec, 'oci', inputs);
  const { history: _d, ...docker } = imageConfigFor(rec, 'docker', inputs);
  return {
    Type: 'hod 0.0.1',
    FromImage: rec.fromImage,
    FromImageID: rec.fromImageId,
    Config: JSON.stringify(oci),
    Container: rec.name,
    ContainerID: rec.id,
    MountPoint: rec.mountPoint ?? '',
    StorageDriver: rec.driver,
    ImageAnnotations: rec.image.annotations,
    ImageCreatedBy: rec.image.createdBy ?? '',
    OCIv1: { ...oci, history: rec.image.history },
    Docker: { ...docker, history: rec.image.history },
    History: rec.image.history,
    Layers: rec.layers,
  };
}

export function inspectImage(store: Store, nameOrId: string): Record<string, unknown> {
  const s = summarize(store, store.images.get(nameOrId));
  return {
    Type: 'hod 0.0.1',
    FromImage: s.names[0] ?? '',
    FromImageID: s.id,
    FromImageDigest: s.digest,
    Names: s.names,
    Config: JSON.stringify(s.config),
    Manifest: JSON.stringify(s.manifest),
    ManifestType: s.manifest.mediaType,
    OCIv1: s.config,
    Docker: s.config,
    ImageAnnotations: s.manifest.annotations ?? {},
    History: s.config.history ?? [],
    Size: s.size,
  };
}

/** Inspect by name: a container first, then an image, unless the type is given. */
export function inspect(store: Store, nameOrId: string, type?: 'container' | 'image'): Record<string, unknown> {
  if (type === 'image') return inspectImage(store, nameOrId);
  if (type === 'container') return inspectContainer(store, nameOrId);
  if (findRecord(store, nameOrId)) return inspectContainer(store, nameOrId);
  if (store.images.find(nameOrId)) return inspectImage(store, nameOrId);
  throw new NotFoundError('container or image', nameOrId);
}
