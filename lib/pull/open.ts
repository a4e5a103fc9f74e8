/** Open an image name with or without a transport prefix as a source or a destination. */
import { HodError } from '../errors.js';
import type { ImageDestination, ImageSource, TransportName } from '../image/transport.js';
import type { ClientOptions } from '../registry/client.js';
import { DockerDestination, DockerSource, parseDockerName } from '../registry/docker-transport.js';
import { DirDestination, DirSource } from './dir.js';
import { OciLayoutDestination, OciLayoutSource } from './oci-layout.js';
import { splitPathRef } from './transport-name.js';

function notYet(t: TransportName): never {
  throw new HodError('EUSAGE', `the ${t.transport}: transport is not implemented in hod yet (docker://, oci: and dir: are)`);
}

export function openSource(t: TransportName, opts: ClientOptions): ImageSource {
  switch (t.transport) {
    case 'docker':
      return new DockerSource(parseDockerName(t.rest), opts);
    case 'oci': {
      const { path, ref } = splitPathRef(t.rest);
      return new OciLayoutSource(path, ref);
    }
    case 'dir':
      return new DirSource(t.rest);
    default:
      return notYet(t);
  }
}

export function openDestination(t: TransportName, opts: ClientOptions & { mountFrom?: string[] }): ImageDestination {
  switch (t.transport) {
    case 'docker':
      return new DockerDestination(parseDockerName(t.rest), opts);
    case 'oci': {
      const { path, ref } = splitPathRef(t.rest);
      return new OciLayoutDestination(path, ref);
    }
    case 'dir':
      return new DirDestination(t.rest);
    default:
      return notYet(t);
  }
}
