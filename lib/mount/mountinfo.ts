import fs from 'node:fs';

/** Mount points currently visible to this process, from /proc/self/mountinfo (octal escapes decoded). */
export function mountPoints(): Set<string> {
  const out = new Set<string>();
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return out;
  }
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field) out.add(field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

export function isMountPoint(p: string): boolean {
  return mountPoints().has(p);
}
