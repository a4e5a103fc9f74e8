import { DRIVERS, Store, type DriverName } from '../store/store.js';
import { UsageError } from '../errors.js';
import { str } from './flags.js';

/** What every verb gets: parsed flags, positional args, and output streams. */
export interface Context {
  args: string[];
  rest: string[];
  flags: Record<string, unknown>;
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Open the store that --root / --storage-driver (or their environment variables) point at. */
export function openStore(ctx: Context): Store {
  const driver = str(ctx.flags, 'storage-driver');
  if (driver !== undefined && !DRIVERS.includes(driver as DriverName)) throw new UsageError(`--storage-driver: unknown driver "${driver}" (${DRIVERS.join(', ')})`);
  return Store.open({ root: str(ctx.flags, 'root'), storageDriver: driver as DriverName | undefined });
}
