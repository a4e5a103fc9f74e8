/**
 * Choosing one manifest from an index or manifest list by platform, as containers/image does: os and
 * architecture must match; a wanted variant must match, and with none wanted the host's (arm64: v8) is
 * preferred, then a child without a variant, then any.
 */
import { HodError } from '../errors.js';
import { hostPlatform, type Descriptor, type Platform } from '../image/types.js';

export function parsePlatform(s: string): Partial<Platform> {
  const [os, architecture, variant, extra] = s.split('/');
  if (!os || !architecture || extra !== undefined) throw new HodError('EUSAGE', `--platform "${s}": expected os/arch or os/arch/variant`);
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function choosePlatform(children: Descriptor[], want: Partial<Platform> | undefined, what: string): Descriptor {
  const host = hostPlatform();
  const os = want?.os ?? host.os;
  const arch = want?.architecture ?? host.architecture;
  const variant = want?.variant ?? (want?.architecture === undefined ? host.variant : undefined) ?? (arch === 'arm64' ? 'v8' : undefined);
  const fits = children.filter((c) => c.platform?.os === os && c.platform?.architecture === arch);
  const pick =
    fits.find((c) => (c.platform?.variant ?? (arch === 'arm64' ? 'v8' : undefined)) === variant) ??
    (want?.variant ? undefined : fits.find((c) => !c.platform?.variant) ?? fits[0]);
  if (!pick) {
    const have = children.map((c) => [c.platform?.os, c.platform?.architecture, c.platform?.variant].filter(Boolean).join('/')).join(', ');
    throw new HodError('EPLATFORM', `${what}: no image for ${[os, arch, want?.variant].filter(Boolean).join('/')} in the manifest list (it has ${have || 'none'})`);
  }
  return pick;
}
