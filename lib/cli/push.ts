import { UsageError } from '../errors.js';
import { push } from '../push/push.js';
import { openStore, type Context } from './context.js';
import { int, need, str, type VerbSpec } from './flags.js';
import { clientOptions, progressLines, REGISTRY_FLAGS } from './registry-flags.js';
import { removeSignatures, REMOVE_SIGNATURES_FLAG, SIGN_FLAGS, signing } from './signing-flags.js';

export const spec: VerbSpec = {
  usage: '[flags] IMAGE [DESTINATION]',
  desc: 'Push a stored image to a registry or a file transport. Without DESTINATION, to the registry its name says. Prints nothing on stdout.',
  flags: {
    ...REGISTRY_FLAGS,
    format: { type: 'string', alias: 'f', arg: 'oci|docker', desc: 'manifest format to push (default: as stored)' },
    digestfile: { type: 'string', arg: 'file', desc: 'write the pushed manifest\'s digest to this file' },
    jobs: { type: 'string', arg: 'n', desc: 'blobs uploaded at once (default 3)' },
    'compression-format': { type: 'string', arg: 'gzip|zstd', desc: 'recompress layers stored otherwise (kept in the store for the next push; zstd needs --format oci)' },
    ...SIGN_FLAGS,
    ...REMOVE_SIGNATURES_FLAG,
  },
  more: 'Examples:\n  hod push app:1 docker://registry.example.com/team/app:1\n  hod push --tls-verify=false app:1 127.0.0.1:5000/app:1\n  hod push app:1 oci:/srv/layouts/app:1\n  hod push app:1 docker-archive:/tmp/app.tar:app:1\n  hod push --compression-format zstd app:1 docker://registry.example.com/team/app:1-zstd\n  hod push --sign-by 0xFINGERPRINT app:1 docker://registry.example.com/team/app:1\n  hod push --sign-by-sigstore-private-key cosign.key --sign-passphrase-file pass app:1 docker://registry.example.com/team/app:1\n\nSignatures travel with the image: those it has (from commit --sign-by, or pulled) are copied unless --remove-signatures. Simple-signing signatures of docker:// images go to the look-aside storage registries.d names (lookaside-staging, else lookaside: a file:// URL; default /var/lib/containers/sigstore); sigstore signatures to the registry as the sha256-DIGEST.sig attachment. dir: keeps both (signature-N); oci:, oci-archive: and docker-archive: keep none.',
};

export async function run(ctx: Context): Promise<void> {
  need(ctx.args, 1, 'an image name');
  const format = str(ctx.flags, 'format');
  if (format !== undefined && format !== 'oci' && format !== 'docker') throw new UsageError(`--format: unrecognized image type "${format}" (oci or docker)`);
  const compression = str(ctx.flags, 'compression-format');
  if (compression !== undefined && compression !== 'gzip' && compression !== 'zstd') throw new UsageError(`--compression-format: "${compression}" is not gzip or zstd`);
  const progress = progressLines(ctx);
  progress && ctx.err('Getting image source signatures');
  await push(openStore(ctx), ctx.args[0], ctx.args[1], {
    ...clientOptions(ctx),
    format,
    compression,
    digestfile: str(ctx.flags, 'digestfile'),
    jobs: int(ctx.flags, 'jobs'),
    progress,
    ...signing(ctx),
    removeSignatures: removeSignatures(ctx),
    warn: (line) => ctx.err(`WARN ${line}`),
  });
  progress && ctx.err('Writing manifest to image destination');
}
