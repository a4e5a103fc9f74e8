/** Sizes as go-units HumanSize: decimal units, about 3 significant digits ("1.4 MB", "512 B"). */
export function humanSize(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toPrecision(3))} ${units[i]}`;
}

/** Ages as go-units HumanDuration, suffixed " ago". */
export function humanAge(iso: string, now = Date.now()): string {
  const s = Math.max(0, (now - Date.parse(iso)) / 1000);
  const d = (() => {
    if (s < 1) return 'Less than a second';
    if (s < 60) return `${Math.floor(s)} seconds`;
    const m = s / 60;
    if (Math.round(m) === 1) return 'About a minute';
    if (m < 60) return `${Math.round(m)} minutes`;
    const h = m / 60;
    if (Math.round(h) === 1) return 'About an hour';
    if (h < 48) return `${Math.round(h)} hours`;
    if (h < 24 * 7 * 2) return `${Math.round(h / 24)} days`;
    if (h < 24 * 30 * 2) return `${Math.round(h / 24 / 7)} weeks`;
    if (h < 24 * 365 * 2) return `${Math.round(h / 24 / 30)} months`;
    return `${Math.round(h / 24 / 365)} years`;
  })();
  return `${d} ago`;
}
