/**
 * parseNvidiaSmi against nvidia-smi output recorded on real cards (test/fixtures/nvidia-smi,
 * see its README for where each file comes from): values in the units of the hw.gpu.* gauges,
 * placeholders such as [N/A] left out (never 0), error lines kept apart.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GPU_ATTR, HW_TYPE } from '../../../packages/instrumentation/src/semconv.js';
import {
  NVIDIA_SMI_ARGS,
  gpuAttributes,
  gpuValues,
  parseNvidiaSmi,
} from '../../../packages/otel-inference/src/register/gpu.js';

const MIB = 1024 * 1024;
const fixture = (name: string): string => readFileSync(new URL(`../../fixtures/nvidia-smi/${name}`, import.meta.url), 'utf8');
const MASKED = (n: number): string => `GPU-0000000${n}-0000-0000-0000-00000000000${n}`;

describe('parseNvidiaSmi', () => {
  it('asks for exactly the columns it parses, without header or units', () => {
    expect(NVIDIA_SMI_ARGS).toEqual([
      '--query-gpu=index,uuid,utilization.gpu,memory.used,memory.total,driver_version,name',
      '--format=csv,noheader,nounits',
    ]);
  });

  it('H100 80GB HBM3 under load: MiB to bytes, percent to a fraction', () => {
    const { gpus, otherLines } = parseNvidiaSmi(fixture('h100-80gb-hbm3.load.txt'));
    expect(otherLines).toEqual([]);
    expect(gpus).toEqual([
      {
        index: 0,
        id: MASKED(0),
        model: 'NVIDIA H100 80GB HBM3',
        driverVersion: '590.48.01',
        utilization: 1,
        memoryUsedBytes: 19818 * MIB,
        memoryTotalBytes: 81559 * MIB,
      },
    ]);
    expect(gpuValues(gpus[0]!)).toEqual({
      utilization: 1,
      memoryUtilization: 19818 / 81559,
      memoryUsage: 19818 * MIB,
      memoryLimit: 81559 * MIB,
    });
  });

  it('H100 idle: zeros are values, not missing', () => {
    const [gpu] = parseNvidiaSmi(fixture('h100-80gb-hbm3.idle.txt')).gpus;
    expect(gpuValues(gpu!)).toEqual({ utilization: 0, memoryUtilization: 0, memoryUsage: 0, memoryLimit: 81559 * MIB });
  });

  it('consumer and workstation cards, Linux and Windows', () => {
    const rows = ['rtx-4080-super.load.txt', 'l40s.load.txt', 'rtx-2080-super.windows.load.txt'].map((f) => parseNvidiaSmi(fixture(f)).gpus[0]);
    expect(rows.map((g) => [g?.model, g?.driverVersion, g?.utilization, g?.memoryUsedBytes, g?.memoryTotalBytes])).toEqual([
      ['NVIDIA GeForce RTX 4080 SUPER', '595.71.05', 0.07, 1474 * MIB, 16376 * MIB],
      ['NVIDIA L40S', '595.80', 0.09, 1235 * MIB, 46068 * MIB],
      ['NVIDIA GeForce RTX 2080 SUPER', '610.62', 0.07, 1366 * MIB, 8192 * MIB],
    ]);
  });

  it('MIG mode: utilization is [N/A] and left out; memory is the whole GPU', () => {
    const [gpu] = parseNvidiaSmi(fixture('h100-mig.load.txt')).gpus;
    expect(gpu?.utilization).toBeUndefined();
    expect(gpuValues(gpu!)).toEqual({
      utilization: undefined,
      memoryUtilization: 11125 / 81559,
      memoryUsage: 11125 * MIB,
      memoryLimit: 81559 * MIB,
    });
  });

  it('several GPUs, one with an [N/A] field: one sample each, by index and UUID', () => {
    const { gpus } = parseNvidiaSmi(fixture('multi-gpu-mig-na.txt'));
    expect(gpus.map((g) => [g.index, g.id, g.utilization, g.memoryUsedBytes])).toEqual([
      [0, MASKED(0), 1, 19818 * MIB],
      [1, MASKED(1), undefined, 11125 * MIB],
      [2, MASKED(2), 0, 0],
    ]);
  });

  it('a lost GPU: its error line is kept apart, the other GPUs are parsed', () => {
    const { gpus, otherLines } = parseNvidiaSmi(fixture('gpu-lost.txt'));
    expect(gpus.map((g) => g.index)).toEqual([0, 2]);
    expect(otherLines).toEqual(['Unable to determine the device handle for GPU1: 0000:34:00.0: Unknown Error']);
  });

  it('unified memory ([N/A] memory): utilization only, no memory gauges', () => {
    const [gpu] = parseNvidiaSmi(fixture('gb10-unified-memory.txt')).gpus;
    expect(gpuValues(gpu!)).toEqual({ utilization: 0.05, memoryUtilization: undefined, memoryUsage: undefined, memoryLimit: undefined });
  });

  it('no GPU, no driver: nothing parsed, the message kept', () => {
    expect(parseNvidiaSmi(fixture('no-devices.txt'))).toEqual({ gpus: [], otherLines: ['No devices were found'] });
    const noDriver = parseNvidiaSmi(fixture('driver-not-loaded.txt'));
    expect(noDriver.gpus).toEqual([]);
    expect(noDriver.otherLines[0]).toMatch(/^NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver/);
    expect(parseNvidiaSmi('')).toEqual({ gpus: [], otherLines: [] });
  });

  it('CRLF line ends, other placeholders, and values outside their range', () => {
    const { gpus } = parseNvidiaSmi(
      '0, GPU-a, 12, 100, 200, 1.0, Card A\r\n' +
        '1, [N/A], [Not Supported], [Unknown Error], [GPU requires reset], [N/A], [N/A]\r\n' +
        '2, GPU-c, 250, 300, 200, 1.0, Card C\r\n',
    );
    expect(gpus.map((g) => [g.id, g.model, g.driverVersion, ...Object.values(gpuValues(g))])).toEqual([
      ['GPU-a', 'Card A', '1.0', 0.12, 0.5, 100 * MIB, 200 * MIB],
      // no UUID: the index identifies it
      ['1', undefined, undefined, undefined, undefined, undefined, undefined],
      // more than 100 % or more used than there is: not a utilization
      ['GPU-c', 'Card C', '1.0', undefined, undefined, 300 * MIB, 200 * MIB],
    ]);
  });
});

describe('gpuAttributes', () => {
  it('hw.type gpu, hw.id the UUID, hw.name as nvidia-smi -L names it, vendor, model and driver', () => {
    const [gpu] = parseNvidiaSmi(fixture('multi-gpu-mig-na.txt')).gpus.slice(1);
    expect(gpuAttributes(gpu!)).toEqual({
      [GPU_ATTR.type]: HW_TYPE.gpu,
      [GPU_ATTR.id]: MASKED(1),
      [GPU_ATTR.name]: 'GPU 1',
      [GPU_ATTR.vendor]: 'NVIDIA',
      [GPU_ATTR.model]: 'NVIDIA H100 80GB HBM3',
      [GPU_ATTR.driverVersion]: '590.48.01',
    });
  });

  it('leaves out what nvidia-smi did not give', () => {
    const [gpu] = parseNvidiaSmi('3, GPU-x, 1, 1, 2, [N/A], [N/A]\n').gpus;
    expect(Object.keys(gpuAttributes(gpu!))).toEqual([GPU_ATTR.type, GPU_ATTR.id, GPU_ATTR.name, GPU_ATTR.vendor]);
  });
});
