import type { BuilderRecord } from '../builder/types.js';
import { MediaType, type ContainerConfig, type History, type ImageConfig, type ImageFormat } from '../image/types.js';

/** Fields of the run-time config that only the Docker schema 2 format can carry. */
const DOCKER_ONLY: (keyof ContainerConfig)[] = ['Healthcheck', 'OnBuild', 'Shell', 'Domainname', 'Hostname'];

export function layerMediaType(format: ImageFormat, compressed: boolean): string {
  if (format === 'oci') return compressed ? MediaType.ociLayerGzip : MediaType.ociLayer;
  return compressed ? MediaType.dockerLayerGzip : MediaType.dockerLayer;
}

export interface ConfigInputs {
  diffIds: string[];
  /** True when this commit added no layer: its history entry says so. */
  emptyLayer: boolean;
  squash: boolean;
  created: string;
  createdBy?: string;
  historyComment?: string;
  omitHistory?: boolean;
  warn?: (msg: string) => void;
}

/** The image config a commit writes: the builder's settings, the layer list and one more history entry. */
export function imageConfigFor(rec: BuilderRecord, format: ImageFormat, inp: ConfigInputs): ImageConfig {
  const cfg: ContainerConfig = { ...rec.image.config };
  if (format === 'oci') {
    for (const k of DOCKER_ONLY) {
      if (cfg[k] === undefined) continue;
      const v = cfg[k];
      const set = Array.isArray(v) ? v.length > 0 : typeof v === 'object' ? v !== null : v !== '';
      if (set) inp.warn?.(`${k.toUpperCase()} is not supported for OCI image format and will be ignored. Must use \`docker\` format`);
      delete cfg[k];
    }
  }
  const entry: History = { created: inp.created, created_by: inp.createdBy ?? rec.image.createdBy ?? '' };
  if (rec.image.author) entry.author = rec.image.author;
  const comment = inp.historyComment ?? rec.image.historyComment;
  if (comment) entry.comment = comment;
  if (inp.emptyLayer) entry.empty_layer = true;
  const history = inp.omitHistory ? undefined : inp.squash ? [entry] : [...rec.image.history, entry];

  const config: ImageConfig = {
    created: inp.created,
    ...(rec.image.author ? { author: rec.image.author } : {}),
    architecture: rec.image.architecture,
    os: rec.image.os,
    ...(rec.image.variant ? { variant: rec.image.variant } : {}),
    config: cfg,
    rootfs: { type: 'layers', diff_ids: inp.diffIds },
    ...(history ? { history } : {}),
  };
  if (format === 'docker' && rec.image.comment) config.comment = rec.image.comment;
  return config;
}
