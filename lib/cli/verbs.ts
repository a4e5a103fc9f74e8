/**
 * The verbs and their one-line descriptions, with no imports: the top-level help, the ESM dispatcher
 * (main.ts) and the bundle script (scripts/bundle.mjs) all read this list.
 */
export const VERBS = {
  from: 'Create a working container from an image or scratch',
  containers: 'List working containers',
  rm: 'Remove working containers',
  rename: 'Rename a working container',
  mount: 'Mount a working container\'s root filesystem, or list mounts',
  umount: 'Unmount a working container\'s root filesystem',
  config: 'Change the image configuration of a working container',
  copy: 'Copy files into a working container',
  add: 'Copy files, archives (unpacked) and URLs into a working container',
  run: 'Run a command in a working container',
  commit: 'Create an image from a working container',
  bud: 'Build an image from a Dockerfile (alias: build)',
  images: 'List images in the store',
  pull: 'Pull an image from a registry or a file transport into the store',
  push: 'Push an image to a registry or a file transport',
  manifest: 'Create, change and push manifest lists (multi-platform images)',
  login: 'Log in to a registry',
  logout: 'Log out of a registry',
  inspect: 'Show the configuration of a container or image',
  tag: 'Add names to an image',
  rmi: 'Remove images',
  system: 'Check the store (system check [--repair])',
  unshare: 'Run a command in a user namespace where you are root (rootless builds)',
  info: 'Show store paths, driver and runtime',
  version: 'Show hod\'s version',
} as const;

export type Verb = keyof typeof VERBS;

/** Verbs that a non-root user runs inside `hod unshare`'s user namespace, entered by themselves. */
export const NEEDS_USERNS: readonly string[] = ['from', 'umount', 'unmount', 'run', 'commit', 'bud', 'build', 'copy', 'add', 'rm', 'rmi', 'pull', 'info'];

export const ALIASES: Record<string, Verb> = { ps: 'containers', list: 'containers', ls: 'containers', unmount: 'umount', 'list-images': 'images', build: 'bud' };
