/**
 * The default seccomp profile (containers-common's `/usr/share/containers/seccomp.json`, the one buildah and
 * podman apply) turned into runtime-spec form for this host: rules for other architectures, rules that need
 * capabilities the command does not get (or are lifted by ones it does), and rules for newer kernels are
 * left out; the host's architecture comes with its sub-architectures (x86_64: x86, x32).
 */
import fs from 'node:fs';
import os from 'node:os';
import { HodError } from '../errors.js';

export const DEFAULT_SECCOMP = '/usr/share/containers/seccomp.json';

interface Filter {
  arches?: string[];
  caps?: string[];
  minKernel?: string;
}

interface Rule {
  names?: string[];
  name?: string;
  action: string;
  errnoRet?: number;
  args?: unknown[];
  includes?: Filter;
  excludes?: Filter;
}

interface Profile {
  defaultAction: string;
  defaultErrnoRet?: number;
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  syscalls?: Rule[];
}

/** Node's process.arch as Go (and so the profile) names it, and as libseccomp does. */
const ARCH: Record<string, [go: string, scmp: string]> = {
  x64: ['amd64', 'SCMP_ARCH_X86_64'], arm64: ['arm64', 'SCMP_ARCH_AARCH64'], arm: ['arm', 'SCMP_ARCH_ARM'],
  ia32: ['386', 'SCMP_ARCH_X86'], ppc64: ['ppc64le', 'SCMP_ARCH_PPC64LE'], s390x: ['s390x', 'SCMP_ARCH_S390X'],
  riscv64: ['riscv64', 'SCMP_ARCH_RISCV64'],
};

function kernelAtLeast(min: string): boolean {
  const [a = 0, b = 0] = os.release().split(/[.-]/).map(Number);
  const [x = 0, y = 0] = min.split('.').map(Number);
  return a > x || (a === x && b >= y);
}

function applies(rule: Rule, arch: string, caps: Set<string>): boolean {
  const inc = rule.includes ?? {};
  const exc = rule.excludes ?? {};
  if (exc.arches?.includes(arch)) return false;
  if (exc.caps?.some((c) => caps.has(c))) return false;
  if (inc.arches?.length && !inc.arches.includes(arch)) return false;
  if (inc.caps?.length && !inc.caps.every((c) => caps.has(c))) return false;
  if (inc.minKernel && !kernelAtLeast(inc.minKernel)) return false;
  return true;
}

/** The profile in `file`, for a process with the capabilities `caps`, as `linux.seccomp` of a runtime spec. */
export function seccompFor(file: string, caps: string[]): Record<string, unknown> {
  let profile: Profile;
  try {
    profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  } catch (err) {
    throw new HodError('ESECCOMP', `seccomp profile ${file}: ${(err as Error).message}`);
  }
  const [arch, scmp] = ARCH[process.arch] ?? [process.arch, ''];
  const have = new Set(caps);
  const native = profile.archMap?.find((a) => a.architecture === scmp);
  const syscalls = (profile.syscalls ?? []).filter((r) => applies(r, arch, have)).map((r) => ({
    names: r.names ?? (r.name ? [r.name] : []),
    action: r.action,
    ...(r.errnoRet !== undefined ? { errnoRet: r.errnoRet } : {}),
    ...(r.args?.length ? { args: r.args } : {}),
  }));
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    architectures: native ? [native.architecture, ...(native.subArchitectures ?? [])] : [],
    syscalls,
  };
}
