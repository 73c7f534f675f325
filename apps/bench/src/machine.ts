import { cpus, platform, arch } from 'node:os';
import type { MachineInfo } from './suite.js';

export function machineInfo(): MachineInfo {
  const list = cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${platform()}-${arch()}`,
    cpu: list[0]?.model ?? 'unknown',
    cores: list.length,
  };
}
