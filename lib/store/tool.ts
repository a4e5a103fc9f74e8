/**
 * Run a helper program (getfattr, setfattr, sh) to completion with its output in buffers. Plain
 * node:child_process, loaded on first use, rather than execa: loading execa costs 22 ms, a quarter of a
 * whole commit's fixed cost, and these calls need none of what it adds.
 */
export interface ToolResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  /** "cmd exited with N" / "cmd could not start: ..." for messages when stderr is empty. */
  shortMessage: string;
}

/** `env` is added to the process's environment. */
export function runTool(cmd: string, args: string[], opts: { input?: Buffer; env?: NodeJS.ProcessEnv; maxBuffer?: number } = {}): Promise<ToolResult> {
  const { spawn } = process.getBuiltinModule('node:child_process');
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: opts.env && { ...process.env, ...opts.env }, stdio: [opts.input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let failure: string | undefined;
    child.stdout!.on('data', (b: Buffer) => {
      size += b.length;
      if (opts.maxBuffer !== undefined && size > opts.maxBuffer && !failure) {
        failure = `${cmd}: output larger than ${opts.maxBuffer} bytes`;
        child.kill();
      }
      out.push(b);
    });
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => (failure ??= `${cmd} could not start: ${e.message}`));
    child.on('close', (code, signal) => {
      const exitCode = failure ? 127 : code ?? 128;
      resolve({
        exitCode,
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err),
        shortMessage: failure ?? (signal ? `${cmd} killed by ${signal}` : `${cmd} exited with ${exitCode}`),
      });
    });
    if (opts.input) {
      child.stdin!.on('error', () => undefined); // a tool that exits early closes its stdin; its exit code says why
      child.stdin!.end(opts.input);
    }
  });
}
