/**
 * The Dockerfile conformance cases: each is built by `buildah bud --layers` and by `hod bud --layers` from the
 * same generated context, and the two results are compared (conformance.test.ts). Every successful case here
 * has been built by buildah 1.28.2 (HOD_CONFORMANCE_SELFTEST=1 runs buildah on both sides).
 *
 * The base image is always localhost/busybox:1 (test/helpers.ts makeBusybox): /bin/busybox, /bin/sh -> busybox,
 * Env PATH=/bin, Entrypoint ["/bin/sh"]. No /etc, no /tmp, no applet links but sh: cases call `busybox APPLET`
 * or run `busybox --install -s /bin` first.
 *
 * Left out because buildah 1.28 cannot build them: heredocs (`RUN <<EOF` runs the shell with an empty heredoc
 * and then fails on the next line as an unknown instruction; `COPY <<EOF /file` looks for a file named "<<EOF"),
 * and `${V-x}` / `${V+x}` without the colon ("Missing ':' in substitution"). Where buildah 1.28 differs from
 * Docker, a comment on the case says so: the reference here is buildah.
 */
import type { KnownDifference } from './compare.js';

export type ContextFile = string | { content: string; mode: number };

export interface Case {
  name: string;
  dockerfile: string;
  /** Context files by relative path (directories are made as needed). */
  files?: Record<string, ContextFile>;
  /** Shell run in the context directory after `files` are written: tar balls, symlinks, ownership. */
  setup?: string;
  /** Files written beside the context directory (not in it), for the outside-the-context case. */
  outside?: Record<string, string>;
  buildArgs?: Record<string, string>;
  target?: string;
  /** The context's .dockerignore. */
  ignore?: string;
  /** `--format docker` for both tools: the OCI format has no Healthcheck, Shell or OnBuild, and both drop them. */
  format?: 'docker';
  /** An image built first (same context, both tools) that the case's Dockerfile uses as its base. */
  pre?: { name: string; dockerfile: string; format?: 'docker' };
  /** The build must fail in both tools; hod's message must match this (it names `Dockerfile:LINE`). */
  expectFail?: RegExp;
  /** For a failure case: what buildah's own message says, so the case is known to fail for the intended reason. */
  buildahFail?: RegExp;
  knownDifferences?: KnownDifference[];
}

const BASE = 'FROM localhost/busybox:1';
const df = (...lines: string[]) => lines.join('\n') + '\n';
const INSTALL = 'RUN busybox --install -s /bin';

export const cases: Case[] = [
  // ---- FROM ----
  {
    name: 'from only: the base image, tagged',
    dockerfile: df(BASE),
  },
  {
    name: 'from scratch with a COPY',
    dockerfile: df('FROM scratch', 'COPY hello.txt /hello.txt', 'CMD ["/hello.txt"]'),
    files: { 'hello.txt': 'hello\n' },
  },
  {
    // Docker matches stage names case-insensitively; buildah 1.28 does not (`AS Base` then `FROM base` makes it
    // look for an image "base"), so the names here agree in case.
    name: 'from an earlier stage (AS)',
    dockerfile: df(`${BASE} AS base`, 'RUN echo a > /a', 'ENV STAGE=base', 'FROM base', 'RUN echo b > /b && echo "$STAGE" > /stage'),
  },
  {
    name: 'ARG before FROM names the base, default and --build-arg',
    dockerfile: df('ARG REPO=localhost/busybox', 'ARG TAG=0', 'FROM ${REPO}:${TAG}', 'RUN echo "repo=$REPO tag=$TAG" > /seen'),
    buildArgs: { TAG: '1' },
  },
  {
    name: 'ARG before FROM is visible in a stage only when redeclared',
    dockerfile: df('ARG V=outer', BASE, 'ARG V', 'RUN echo "v=$V" > /v', 'FROM localhost/busybox:1', 'COPY --from=0 /v /v', 'RUN echo "v=$V" > /v2'),
  },
  // ---- RUN ----
  {
    name: 'RUN shell form: files, modes, owners',
    dockerfile: df(BASE, INSTALL, 'RUN mkdir -p /a/b && echo x > /a/b/c && chmod 600 /a/b/c && chown 12:34 /a/b/c && ln -s b/c /a/link && ln /a/b/c /a/hard'),
  },
  {
    name: 'RUN exec form: no shell, so no expansion; env still passed',
    dockerfile: df(BASE, 'ENV X=1', 'RUN ["/bin/busybox", "mkdir", "/$X"]', 'RUN ["/bin/busybox", "sh", "-c", "echo $X > /x"]'),
  },
  {
    name: 'RUN true leaves an empty layer; several in a row',
    dockerfile: df(BASE, 'RUN true', 'RUN true', 'RUN echo x > /x', 'RUN true'),
  },
  {
    name: 'RUN removes a file of the base (a whiteout)',
    dockerfile: df(BASE, INSTALL, 'RUN mkdir -p /d/e && echo 1 > /d/e/f && echo 2 > /d/g', 'RUN rm -rf /d/e && rm /bin/ls'),
  },
  {
    name: 'RUN --mount=type=tmpfs: nothing written there reaches the image',
    dockerfile: df(BASE, 'RUN --mount=type=tmpfs,target=/cache echo x > /cache/f && busybox ls /cache > /listing'),
  },
  {
    name: 'RUN --mount=type=bind,from=stage',
    dockerfile: df(`${BASE} AS src`, 'RUN echo data > /d', BASE, 'RUN --mount=type=bind,from=src,target=/src busybox cat /src/d > /copied'),
  },
  {
    name: 'RUN --mount=type=bind of the context',
    dockerfile: df(BASE, 'RUN --mount=type=bind,target=/ctx busybox cat /ctx/a.txt > /a'),
    files: { 'a.txt': 'from the context\n' },
  },
  // ---- CMD / ENTRYPOINT ----
  {
    name: 'CMD shell form',
    dockerfile: df(BASE, 'CMD echo "hello world" && busybox true'),
  },
  {
    name: 'CMD exec form with ENTRYPOINT exec form',
    dockerfile: df(BASE, 'ENTRYPOINT ["/bin/busybox", "echo"]', 'CMD ["hello", "world"]'),
  },
  {
    name: 'ENTRYPOINT shell form',
    dockerfile: df(BASE, 'ENTRYPOINT busybox echo hi', 'CMD ["ignored"]'),
  },
  {
    name: 'ENTRYPOINT resets a CMD inherited from the base, not one set in the same stage',
    dockerfile: df(`${BASE} AS withcmd`, 'CMD ["from-base"]', 'FROM withcmd AS reset', 'ENTRYPOINT ["/bin/busybox"]', 'FROM withcmd', 'CMD ["mine"]', 'ENTRYPOINT ["/bin/busybox"]'),
  },
  {
    name: 'ENTRYPOINT inherited CMD reset (the reset stage as target)',
    dockerfile: df(`${BASE} AS withcmd`, 'CMD ["from-base"]', 'FROM withcmd AS reset', 'ENTRYPOINT ["/bin/busybox"]', 'FROM withcmd', 'CMD ["mine"]'),
    target: 'reset',
  },
  {
    name: 'ENTRYPOINT [] and CMD [] clear them',
    dockerfile: df(BASE, 'CMD ["x"]', 'ENTRYPOINT []', 'CMD []'),
  },
  {
    name: 'not-quite-JSON falls back to the shell form',
    dockerfile: df(BASE, "CMD ['single', 'quotes']", 'ENTRYPOINT ["unterminated"'),
  },
  // ---- ENV ----
  {
    name: 'ENV both syntaxes, several pairs, quoting',
    dockerfile: df(BASE, 'ENV A=1 B="two words" C=three\\ four', 'ENV D five six', "ENV E='single $A'", 'ENV PATH=/usr/local/bin:$PATH'),
  },
  {
    // ${V-x} and ${V+x} (without the colon) are refused by buildah 1.28: "Missing ':' in substitution".
    name: 'ENV references earlier variables and ${V:-x} ${V:+x}',
    dockerfile: df(
      BASE,
      'ENV SET=x EMPTY=',
      'ENV A=${SET:-d} B=${UNSET:-d} C=${EMPTY:-d} D=${SET:+alt} E=${UNSET:+alt} H=${EMPTY:+alt}',
      'ENV J=$SET-${SET}_$SET K=\\$SET L=pre${SET}post',
      'ENV SELF=1 SELF=${SELF}2 OTHER=$SELF',
    ),
  },
  {
    name: 'ENV in RUN and in other instructions',
    dockerfile: df(BASE, 'ENV DIR=/data F=f.txt PORT=8080 U=1234', 'WORKDIR $DIR', 'COPY $F ${DIR}/copy', 'LABEL dir=$DIR', 'EXPOSE ${PORT} ${MISSING:-9090}', 'RUN echo "$DIR $F" > /from-run', 'USER ${U}:${G:-5}'),
    files: { 'f.txt': 'f\n' },
  },
  // ---- ARG ----
  {
    name: 'ARG defaults, --build-arg overrides, not persisted in Env',
    dockerfile: df(BASE, 'ARG A=defA', 'ARG B=defB', 'ARG C', 'ARG UNUSED_DEFAULT=u', 'RUN echo "$A $B [$C]" > /ab'),
    buildArgs: { B: 'over', C: 'given' },
  },
  {
    name: 'ARG and ENV of the same name: ENV wins',
    dockerfile: df(BASE, 'ARG X=arg', 'ENV X=env-${X}', 'ARG X=again', 'RUN echo "$X" > /x'),
    buildArgs: { X: 'cli' },
  },
  {
    name: 'ARG per stage: each stage declares its own',
    dockerfile: df(`${BASE} AS one`, 'ARG N=1', 'RUN echo "$N" > /n', BASE, 'ARG N=2', 'COPY --from=one /n /n1', 'RUN echo "$N" > /n2'),
    buildArgs: { N: '9' },
  },
  {
    name: 'ARG used in RUN only (the build environment)',
    dockerfile: df(BASE, 'ARG TOKEN=t0', 'RUN echo "$TOKEN" > /token && busybox env | busybox grep -c TOKEN > /count'),
    buildArgs: { TOKEN: 'secret' },
  },
  // ---- LABEL / MAINTAINER / EXPOSE / VOLUME / STOPSIGNAL ----
  {
    name: 'LABEL several, quoted, continued, legacy form',
    dockerfile: df(BASE, 'LABEL a=1 "b c"="d e" f=\'g h\'', 'LABEL multi="line1 \\', '  line2" empty=""', 'LABEL legacy this is the value', 'LABEL a=overridden'),
  },
  {
    name: 'MAINTAINER',
    dockerfile: df(BASE, 'MAINTAINER Jane Doe <jane@example.com>'),
  },
  {
    // buildah 1.28 keeps "8000-8002/tcp" as one key (Docker expands the range) and "9000/UDP" in upper case.
    name: 'EXPOSE ports, protocols, ranges',
    dockerfile: df(BASE, 'EXPOSE 80 443/tcp 53/udp', 'EXPOSE 8000-8002', 'EXPOSE 9000/UDP'),
  },
  {
    name: 'VOLUME JSON and plain forms',
    dockerfile: df(BASE, 'VOLUME ["/data", "/logs"]', 'VOLUME /cache /var/x'),
  },
  {
    // buildah 1.28, like Docker, throws away what a RUN writes under a declared volume: /vol is empty after.
    name: 'RUN after VOLUME writes into the volume path',
    dockerfile: df(BASE, 'VOLUME /vol', 'RUN echo x > /vol/x && echo y > /y'),
  },
  {
    name: 'STOPSIGNAL',
    dockerfile: df(BASE, 'STOPSIGNAL SIGKILL'),
  },
  // ---- WORKDIR / USER ----
  {
    // buildah 1.28 makes no directory for WORKDIR itself: only the one a RUN ran in (/a/c here) exists after.
    name: 'WORKDIR absolute, relative, .., with env; missing ones made only where a RUN runs',
    dockerfile: df(BASE, 'WORKDIR /a', 'WORKDIR b', 'WORKDIR ../c', 'RUN pwd > /pwd', 'ENV D=/x', 'WORKDIR $D/y'),
    knownDifferences: [{
      field: 'file:/a/b', exact: true,
      why: 'hod makes every WORKDIR that is missing, as Docker documents and issue 5 asks ("created when missing"); buildah 1.28 only the one a RUN runs in',
    }],
  },
  {
    // buildah 1.28: WorkingDir is set, no layer and no /made directory.
    name: 'WORKDIR alone sets the config only',
    dockerfile: df(BASE, 'WORKDIR /made/here'),
  },
  {
    name: 'USER by name, RUN as that user',
    dockerfile: df(
      BASE,
      'RUN busybox mkdir -p /etc /home/app && busybox mkdir -m 1777 /tmp && echo "root:x:0:0::/root:/bin/sh" > /etc/passwd && echo "app:x:1000:1001::/home/app:/bin/sh" >> /etc/passwd && printf "root:x:0:\\napp:x:1001:\\n" > /etc/group && busybox chown 1000:1001 /home/app',
      'USER app',
      'RUN busybox id > /tmp/id && echo hi > /home/app/hi',
    ),
  },
  {
    name: 'USER uid:gid',
    dockerfile: df(BASE, 'RUN busybox mkdir -m 1777 /tmp', 'USER 1234:5678', 'RUN busybox id > /tmp/id && echo x > /tmp/mine'),
  },
  // ---- COPY ----
  {
    name: 'COPY files: to a file, into a new dir (trailing slash), several sources, relative to WORKDIR',
    dockerfile: df(BASE, 'COPY a.txt /single', 'COPY a.txt /newdir/', 'COPY a.txt b.txt /multi/', 'WORKDIR /w', 'COPY a.txt rel', 'COPY b.txt ./'),
    files: { 'a.txt': 'a\n', 'b.txt': 'b\n' },
  },
  {
    // Docker refuses this ("the destination must be a directory and end with a /"); buildah 1.28 makes the directory.
    name: 'COPY of several sources to a destination without a trailing slash',
    dockerfile: df(BASE, 'COPY a.txt b.txt /notadir'),
    files: { 'a.txt': 'a', 'b.txt': 'b' },
  },
  {
    name: 'COPY to an existing directory without trailing slash goes into it',
    dockerfile: df(BASE, 'RUN busybox mkdir /exists', 'COPY a.txt /exists', 'COPY a.txt /bin'),
    files: { 'a.txt': 'a\n' },
  },
  {
    name: 'COPY a directory copies its contents',
    dockerfile: df(BASE, 'COPY dir /d', 'COPY dir/ /d2/', 'COPY dir/sub /d3', 'COPY . /all'),
    files: { 'dir/x': 'x\n', 'dir/sub/y': 'y\n', 'dir/sub/deeper/z': { content: '#!/bin/sh\n', mode: 0o755 }, 'top.txt': 't\n' },
    setup: 'chmod 700 dir/sub && ln -s sub/y dir/link',
  },
  {
    name: 'COPY wildcards',
    dockerfile: df(BASE, 'COPY *.txt /w/', 'COPY d?r/* /w2/', 'COPY [ab].conf /w3/', 'COPY nested/*/f /w4/'),
    files: { '1.txt': '1', '2.txt': '2', 'other.md': 'no', 'dir/p': 'p', 'dir/q/r': 'r', 'a.conf': 'a', 'b.conf': 'b', 'c.conf': 'c', 'nested/one/f': '1', 'nested/two/f': '2' },
  },
  {
    name: 'COPY JSON form with spaces',
    dockerfile: df(BASE, 'COPY ["a b.txt", "/with space/"]', 'COPY ["a b.txt", "/plain"]'),
    files: { 'a b.txt': 'spaced\n' },
  },
  {
    name: 'COPY keeps modes, sets owner root, --chown numeric and by name',
    dockerfile: df(
      BASE,
      'RUN busybox mkdir -p /etc && echo "app:x:1000:1001::/:/bin/sh" > /etc/passwd && echo "grp:x:1002:" > /etc/group',
      'COPY exe /exe',
      'COPY --chown=12:34 a.txt /a',
      'COPY --chown=app:grp a.txt /b',
      'COPY --chown=app a.txt /c',
      'COPY --chown=55 dir /d',
    ),
    files: { exe: { content: '#!/bin/sh\n', mode: 0o751 }, 'a.txt': 'a\n', 'dir/f': { content: 'f', mode: 0o600 } },
    setup: 'chown 4242:4343 exe a.txt dir/f',
  },
  {
    name: 'COPY --chmod',
    dockerfile: df(BASE, 'COPY --chmod=0640 a.txt /a', 'COPY --chmod=755 dir /d', 'COPY --chown=7:8 --chmod=600 a.txt /b'),
    files: { 'a.txt': 'a\n', 'dir/f': 'f', 'dir/g/h': 'h' },
  },
  {
    name: 'COPY --from=stage and --from=index',
    dockerfile: df(`${BASE} AS build`, 'RUN busybox mkdir -p /out/sub && echo built > /out/sub/f && echo top > /out/t', BASE, 'COPY --from=build /out /o1', 'COPY --from=0 /out/sub/f /o2/', 'COPY --from=build /out/t /out/sub/ /o3/'),
  },
  {
    name: 'COPY --from an image that is not a stage',
    dockerfile: df('FROM scratch', 'COPY --from=localhost/busybox:1 /bin/busybox /bb'),
  },
  {
    // A symlink named as the source is followed (/link is a file); symlinks inside a copied directory are kept.
    name: 'COPY of a symlink copies the link',
    dockerfile: df(BASE, 'COPY link /link', 'COPY tree /tree'),
    files: { 'target.txt': 't\n', 'tree/real': 'r' },
    setup: 'ln -s target.txt link && ln -s real tree/alias && ln -s /abs tree/absolute',
  },
  // ---- ADD ----
  {
    name: 'ADD a local tar.gz unpacks it; a plain file is copied',
    dockerfile: df(BASE, 'ADD a.tar.gz /x/', 'ADD a.tar.gz /y', 'ADD plain.txt /p', 'ADD plain.gz /pg'),
    files: { 't/d/a': 'a\n', 't/d/b': { content: 'b\n', mode: 0o700 }, 't/top': 'top\n', 'plain.txt': 'plain\n' },
    setup: 'chown -R 10:20 t/d && tar -czf a.tar.gz -C t . && rm -rf t && printf notgzip > plain.gz',
  },
  // ---- SHELL / HEALTHCHECK / ONBUILD (Docker format) ----
  {
    name: 'SHELL changes RUN, CMD and ENTRYPOINT shell forms',
    dockerfile: df(BASE, 'SHELL ["/bin/busybox", "sh", "-c"]', 'RUN echo "$0" > /zero', 'CMD echo cmd', 'ENTRYPOINT echo ep'),
    format: 'docker',
    knownDifferences: [
      { field: 'Cmd', why: 'hod runs the shell form of CMD through SHELL, as Docker documents; buildah 1.28 keeps /bin/sh -c' },
      { field: 'Entrypoint', why: 'the same for ENTRYPOINT' },
    ],
  },
  {
    name: 'HEALTHCHECK exec form (the second stage)',
    dockerfile: df(BASE, 'HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=4 CMD busybox true', `${BASE}`, 'HEALTHCHECK CMD ["/bin/busybox", "true"]'),
    format: 'docker',
  },
  {
    name: 'HEALTHCHECK shell form with options',
    dockerfile: df(BASE, 'HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=4 CMD busybox true'),
    format: 'docker',
  },
  {
    name: 'HEALTHCHECK NONE over an inherited one',
    dockerfile: df(`${BASE} AS hc`, 'HEALTHCHECK CMD busybox true', 'FROM hc', 'HEALTHCHECK NONE'),
    format: 'docker',
  },
  {
    name: 'HEALTHCHECK, SHELL, ONBUILD dropped from an OCI image',
    dockerfile: df(BASE, 'HEALTHCHECK CMD busybox true', 'SHELL ["/bin/busybox", "sh", "-c"]', 'ONBUILD RUN true'),
  },
  {
    name: 'ONBUILD is stored in the config',
    dockerfile: df(BASE, 'ONBUILD RUN echo triggered > /trig', 'ONBUILD COPY a.txt /a', 'ONBUILD ENV X=1'),
    format: 'docker',
  },
  {
    name: 'ONBUILD triggers fire in the image built on it',
    pre: { name: 'conformance-onbuild-base', dockerfile: df(BASE, 'ONBUILD RUN echo fired > /fired', 'ONBUILD COPY a.txt /a', 'ONBUILD ENV FIRED=yes'), format: 'docker' },
    dockerfile: df('FROM localhost/conformance-onbuild-base', 'RUN busybox cat /fired > /seen'),
    files: { 'a.txt': 'a\n' },
    format: 'docker',
  },
  // ---- more interplay ----
  {
    name: 'a stage built on a stage inherits and overrides its config',
    dockerfile: df(`${BASE} AS parent`, 'ENV A=1 B=2', 'LABEL l1=a l2=b', 'WORKDIR /srv', 'USER 5', 'CMD ["parent"]', 'EXPOSE 80', 'FROM parent', 'ENV B=3', 'LABEL l2=c', 'USER 6:7'),
  },
  {
    name: 'USER does not change who owns COPY and ADD results',
    dockerfile: df(BASE, 'USER 1000:1000', 'COPY a.txt /a', 'ADD a.txt /b', 'WORKDIR /work', 'COPY a.txt .'),
    files: { 'a.txt': 'a\n' },
  },
  {
    name: 'COPY --chown and ADD --chown with variables',
    dockerfile: df(BASE, 'ARG OWNER=3', 'ENV GROUP=4', 'COPY --chown=${OWNER}:${GROUP} a.txt /a', 'ADD --chown=$OWNER a.txt /b'),
    files: { 'a.txt': 'a\n' },
    buildArgs: { OWNER: '30' },
  },
  {
    name: 'predefined proxy build args reach RUN without an ARG',
    dockerfile: df(BASE, 'RUN echo "[$HTTP_PROXY] [$no_proxy]" > /proxy'),
    buildArgs: { HTTP_PROXY: 'http://proxy.invalid:3128', no_proxy: 'example.invalid' },
  },
  {
    name: 'RUN exec form with JSON escapes',
    dockerfile: df(BASE, 'RUN ["/bin/busybox", "sh", "-c", "echo \\"quoted\\" \\\\ tab:\\t: > /q"]'),
  },
  // ---- parser ----
  {
    // buildah 1.28 still eats the backslashes of ENV under "# escape=`": WINPATH=C:dirsub (Docker keeps C:\dir\sub).
    name: 'escape directive (backtick)',
    dockerfile: df('# escape=`', BASE, 'ENV WINPATH=C:\\dir\\sub', 'RUN echo a > /a && `', '    echo b > /b', 'LABEL x="back`\\slash"'),
    knownDifferences: [{ field: 'Env', why: 'with escape=` a backslash is an ordinary character, as in Docker: hod keeps C:\\dir\\sub, buildah 1.28 drops the backslashes' }],
  },
  {
    name: 'line continuations, comments inside them, blank lines, lower-case instructions',
    dockerfile: df('# a comment', '', BASE, 'RUN echo one > /1 && \\', '# a comment inside the continuation', '    echo two > /2 \\', '', '    && echo three > /3', 'run echo lower > /lower', 'env LOWER=yes', '  RUN   echo indented > /indented'),
  },
  // ---- .dockerignore ----
  {
    name: '.dockerignore with ** and ! exceptions',
    dockerfile: df(BASE, 'COPY . /app'),
    files: { 'keep.txt': 'k', 'a.log': 'l', 'keep.log': 'kl', 'sub/b.log': 'l', 'sub/tmp/x': 'x', 'tmp/y': 'y', 'deep/er/tmp/z': 'z', 'secret/s': 's', 'secret/public': 'p', 'sub/c.txt': 'c' },
    ignore: '*.log\n!keep.log\n**/tmp\nsecret/*\n!secret/public\nDockerfile\n',
  },
  {
    name: '.dockerignore excluding a directory but not one file in it, COPY of that dir',
    dockerfile: df(BASE, 'COPY docs /docs'),
    files: { 'docs/a.md': 'a', 'docs/b.md': 'b', 'docs/img/x.png': 'x' },
    ignore: 'docs\n!docs/b.md\n',
  },
  // ---- multi-stage ----
  {
    name: 'multi-stage with --target stops at the target',
    dockerfile: df(`${BASE} AS one`, 'RUN echo 1 > /one', 'FROM one AS two', 'RUN echo 2 > /two', 'LABEL stage=two', 'FROM two AS three', 'RUN echo 3 > /three'),
    target: 'two',
  },
  {
    name: 'unused stages are not in the result',
    dockerfile: df(`${BASE} AS unused`, 'RUN echo unused > /unused', `${BASE} AS used`, 'RUN echo used > /used', BASE, 'COPY --from=used /used /used'),
  },
  {
    // buildah 1.28 skips stages the target does not need, so the failing RUN never runs.
    name: 'a failing stage nothing uses',
    dockerfile: df(`${BASE} AS broken`, 'RUN exit 1', BASE, 'RUN echo ok > /ok'),
  },

  // ---- failures: both must fail, hod naming Dockerfile:LINE ----
  {
    name: 'fails: RUN exits non-zero',
    dockerfile: df(BASE, 'RUN echo fine', 'RUN exit 3', 'RUN echo never'),
    expectFail: /Dockerfile:3\b/,
    buildahFail: /exit status 3/,
  },
  {
    name: 'fails: COPY of a missing file',
    dockerfile: df(BASE, 'COPY missing.txt /x'),
    expectFail: /Dockerfile:2\b/,
    buildahFail: /missing\.txt": no such file or directory/,
  },
  {
    name: 'fails: COPY from outside the context',
    dockerfile: df(BASE, 'COPY ../outside.txt /x'),
    outside: { 'outside.txt': 'should not be reachable\n' },
    expectFail: /Dockerfile:2\b/,
    buildahFail: /escaping context directory.*outside\.txt/,
  },
  {
    name: 'fails: unknown instruction',
    dockerfile: df(BASE, 'RUN true', 'FROBNICATE now'),
    expectFail: /Dockerfile:3\b/,
    buildahFail: /Unknown instruction: "FROBNICATE"/,
  },
  {
    name: 'fails: ARG undefined in FROM gives an empty image name',
    dockerfile: df('ARG IMAGE', 'FROM $IMAGE', 'RUN true'),
    expectFail: /Dockerfile:2\b/,
    buildahFail: /no FROM statement found/,
  },
  {
    name: 'fails: SHELL not in JSON form',
    dockerfile: df(BASE, 'SHELL /bin/sh -c'),
    expectFail: /Dockerfile:2\b/,
    buildahFail: /SHELL requires the arguments to be in JSON form/,
  },
];
