/** The machine a measurement ran on, as every JSON result line names it: CPU model × cores. */
import { cpus } from 'node:os';

export function machineName(): string {
  const c = cpus();
  return `${c[0]?.model.trim() ?? 'cpu'} x${c.length}`;
}
