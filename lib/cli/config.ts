import { config } from '../builder/config.js';
import type { ConfigOptions } from '../builder/config-edit.js';
import { openStore, type Context } from './context.js';
import { int, list, need, str, type Flag, type VerbSpec } from './flags.js';

const s = (arg: string, desc: string): Flag => ({ type: 'string', arg, desc });
const l = (arg: string, desc: string): Flag => ({ type: 'list', arg, desc });

export const spec: VerbSpec = {
  usage: '[flags] CONTAINER',
  desc: 'Change the image configuration a working container will be committed with.',
  flags: {
    entrypoint: s('json|cmd', 'entrypoint: a JSON array, or a shell command run with the shell ("" clears)'),
    cmd: s('json|cmd', 'default command: a JSON array or shell words ("" clears)'),
    env: { type: 'list', alias: 'e', arg: 'K=V', desc: 'set an environment variable; "K-" removes it' },
    label: { type: 'list', alias: 'l', arg: 'k=v', desc: 'set a label; "k-" removes it' },
    annotation: { type: 'list', alias: 'a', arg: 'k=v', desc: 'set a manifest annotation; "k-" removes it' },
    workingdir: s('dir', 'working directory'),
    user: { type: 'string', alias: 'u', arg: 'user[:group]', desc: 'user commands run as' },
    port: { type: 'list', alias: 'p', arg: 'port[/proto]', desc: 'expose a port; "port-" removes it' },
    volume: { type: 'list', alias: 'v', arg: 'path', desc: 'declare a volume; "path-" removes it' },
    'stop-signal': s('signal', 'signal that stops the container'),
    author: s('name', 'image author'),
    'created-by': s('text', 'created_by of the next history entry'),
    comment: s('text', 'image comment (docker format)'),
    'history-comment': s('text', 'comment of the next history entry'),
    shell: s('json|words', 'shell for shell-form commands (docker format)'),
    arch: s('arch', 'architecture'),
    os: s('os', 'operating system'),
    variant: s('variant', 'architecture variant'),
    healthcheck: s('CMD ...|CMD-SHELL ...|NONE', 'health check command (docker format)'),
    'healthcheck-interval': s('duration', 'health check interval'),
    'healthcheck-retries': s('n', 'health check retries'),
    'healthcheck-start-period': s('duration', 'health check start period'),
    'healthcheck-start-interval': s('duration', 'health check interval during the start period'),
    'healthcheck-timeout': s('duration', 'health check timeout'),
    onbuild: l('instruction', 'ONBUILD trigger (docker format)'),
    domainname: s('name', 'domain name (docker format)'),
    hostname: s('name', 'host name (docker format)'),
  },
};

export async function run(ctx: Context): Promise<void> {
  need(ctx.args, 1, 'a container name or ID');
  const f = ctx.flags;
  const opts: ConfigOptions = {
    entrypoint: str(f, 'entrypoint'),
    cmd: str(f, 'cmd'),
    env: list(f, 'env'),
    label: list(f, 'label'),
    annotation: list(f, 'annotation'),
    workingdir: str(f, 'workingdir'),
    user: str(f, 'user'),
    port: list(f, 'port'),
    volume: list(f, 'volume'),
    stopSignal: str(f, 'stop-signal'),
    author: str(f, 'author'),
    createdBy: str(f, 'created-by'),
    comment: str(f, 'comment'),
    historyComment: str(f, 'history-comment'),
    shell: str(f, 'shell'),
    arch: str(f, 'arch'),
    os: str(f, 'os'),
    variant: str(f, 'variant'),
    healthcheck: str(f, 'healthcheck'),
    healthcheckInterval: str(f, 'healthcheck-interval'),
    healthcheckRetries: int(f, 'healthcheck-retries'),
    healthcheckStartPeriod: str(f, 'healthcheck-start-period'),
    healthcheckStartInterval: str(f, 'healthcheck-start-interval'),
    healthcheckTimeout: str(f, 'healthcheck-timeout'),
    onbuild: list(f, 'onbuild'),
    domainname: str(f, 'domainname'),
    hostname: str(f, 'hostname'),
  };
  // buildah's warnings, in its terminal form
  config(openStore(ctx), ctx.args[0], opts, { warn: (m) => ctx.err(`WARN[0000] ${m}`) });
}
