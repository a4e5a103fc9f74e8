import type { ContainerConfig, History, ImageFormat } from '../image/types.js';
import type { DriverName } from '../store/store.js';

/** What `builder.json` holds: everything needed to mount, configure and commit one working container. */
export interface BuilderRecord {
  /** 64 hex characters. */
  id: string;
  name: string;
  /** The image it was made from: its id (config digest hex) and the name the user gave; empty for scratch. */
  fromImage: string;
  fromImageId: string;
  created: string;
  /** Diff ids of the base image's layers, bottom first. */
  layers: string[];
  /** Compressed descriptors of the base layers, reused verbatim when committing on top of them. */
  baseLayerDigests: { digest: string; size: number; mediaType: string }[];
  driver: DriverName;
  /** Set while the root filesystem is mounted. */
  mountPoint?: string;
  /** Image-level config: platform and metadata. */
  image: {
    architecture: string;
    os: string;
    variant?: string;
    author?: string;
    comment?: string;
    createdBy?: string;
    historyComment?: string;
    config: ContainerConfig;
    history: History[];
    /** Manifest annotations (`config --annotation`). */
    annotations: Record<string, string>;
  };
  /** The format a commit uses when none is given. */
  format?: ImageFormat;
}
