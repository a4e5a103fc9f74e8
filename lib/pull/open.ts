/** Open an image name with a transport prefix as a source or a destination. */
import type { ImageDestination, ImageSource, TransportName } from '../image/transport.js';
import type { ClientOptions } from '../registry/client.js';
import { DockerDestination, DockerSource, parseDockerName, type DockerOptions } from '../registry/docker-transport.js';
import { openDirDestination, openDirSource } from './dir.js';
import { openDockerArchiveDestination, openDockerArchiveSource } from './docker-archive.js';
import { openOciArchiveDestination, openOciArchiveSource } from './oci-archive.js';
import { openOciLayoutDestination, openOciLayoutSource } from './oci-layout.js';

export function openSource(t: TransportName, opts: DockerOptions): ImageSource {
  switch (t.transport) {
    case 'docker':
      return new DockerSource(parseDockerName(t.rest), opts);
    case 'oci':
      return openOciLayoutSource(t);
    case 'oci-archive':
      return openOciArchiveSource(t);
    case 'docker-archive':
      return openDockerArchiveSource(t);
    case 'dir':
      return openDirSource(t);
    default:
      throw new Error(`no source for transport ${String(t.transport)}`);
  }
}

export function openDestination(t: TransportName, opts: ClientOptions & { mountFrom?: string[] }): ImageDestination {
  switch (t.transport) {
    case 'docker':
      return new DockerDestination(parseDockerName(t.rest), opts);
    case 'oci':
      return openOciLayoutDestination(t);
    case 'oci-archive':
      return openOciArchiveDestination(t);
    case 'docker-archive':
      return openDockerArchiveDestination(t);
    case 'dir':
      return openDirDestination(t);
    default:
      throw new Error(`no destination for transport ${String(t.transport)}`);
  }
}
