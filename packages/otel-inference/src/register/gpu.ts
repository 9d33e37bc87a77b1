/**
 * GPU gauges from `nvidia-smi`: memory used and total, memory utilization and GPU utilization,
 * per GPU, with the semconv `hw.gpu.*` names (GPU_INSTRUMENT).
 *
 * - nvidia-smi runs on a timer, one at a time, asynchronously, with a timeout; the observable
 *   callbacks only report the last sample, so a collect never waits for it.
 * - Where it is absent, or finds no GPU, the first poll ends it all: no instrument, no timer,
 *   no line on stderr (unless OTEL_INFERENCE_GPU_METRICS=true asked for GPU metrics).
 * - Nothing here keeps the process alive: the timer, the child and its pipes are unref'd.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { diag, ValueType, type Attributes, type MeterProvider, type Observable } from '@opentelemetry/api';
import { GPU_ATTR, GPU_INSTRUMENT, HW_TYPE, METER_NAME, VERSION, type GpuInstrumentKey } from '@otel-inference/instrumentation';

/** The query, in the order nvidia-smi prints the columns; the name last, in case one ever holds ", ". */
export const NVIDIA_SMI_FIELDS = ['index', 'uuid', 'utilization.gpu', 'memory.used', 'memory.total', 'driver_version', 'name'] as const;
export const NVIDIA_SMI_ARGS: readonly string[] = [`--query-gpu=${NVIDIA_SMI_FIELDS.join(',')}`, '--format=csv,noheader,nounits'];

/** How long one nvidia-smi may take: the export interval, within these bounds. */
export const POLL_TIMEOUT_BOUNDS_MILLIS = { min: 1_000, max: 10_000 } as const;

const MIB = 1024 * 1024;
/** Longest label value taken from nvidia-smi (product names are ~30 characters). */
const MAX_LABEL = 128;

/** One GPU as nvidia-smi reported it. A value nvidia-smi did not give (`[N/A]`, `[Not Supported]`…) is undefined. */
export interface GpuSample {
  readonly index: number;
  /** `hw.id`: the GPU's UUID, or its index when nvidia-smi gives none. */
  readonly id: string;
  /** The product name, e.g. `NVIDIA H100 80GB HBM3`. */
  readonly model: string | undefined;
  readonly driverVersion: string | undefined;
  /** Fraction 0–1 of the last sample period during which a kernel ran (`utilization.gpu`; absent in MIG mode). */
  readonly utilization: number | undefined;
  readonly memoryUsedBytes: number | undefined;
  readonly memoryTotalBytes: number | undefined;
}

/** A number cell, or undefined for nvidia-smi's bracketed placeholders (`[N/A]`, `[Unknown Error]`, …). */
function numberCell(cell: string): number | undefined {
  return /^\d+(?:\.\d+)?$/.test(cell) ? Number(cell) : undefined;
}

function textCell(cell: string): string | undefined {
  return cell === '' || cell.startsWith('[') ? undefined : cell.slice(0, MAX_LABEL);
}

export interface ParsedNvidiaSmi {
  readonly gpus: GpuSample[];
  /** Lines that are not a GPU row, e.g. `Unable to determine the device handle for GPU…`. */
  readonly otherLines: string[];
}

/**
 * Parses the output of `nvidia-smi` with {@link NVIDIA_SMI_ARGS}: one line per GPU, cells
 * separated by ", ", memory in MiB, utilization in percent. Lines that are not a GPU row (an
 * error about one GPU, printed among the others) are returned apart; cells that are not a
 * number leave that value undefined, never 0.
 */
export function parseNvidiaSmi(stdout: string): ParsedNvidiaSmi {
  const gpus: GpuSample[] = [];
  const otherLines: string[] = [];
  for (const raw of stdout.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '') continue;
    const cells = line.split(',').map((c) => c.trim());
    const [index, uuid, utilization, used, total, driver] = cells;
    const name = cells.slice(NVIDIA_SMI_FIELDS.length - 1).join(', ');
    if (cells.length < NVIDIA_SMI_FIELDS.length || index === undefined || !/^\d+$/.test(index)) {
      otherLines.push(line.slice(0, 200));
      continue;
    }
    const percent = numberCell(utilization!);
    const memoryUsedMib = numberCell(used!);
    const memoryTotalMib = numberCell(total!);
    gpus.push({
      index: Number(index),
      id: textCell(uuid!) ?? index,
      model: textCell(name),
      driverVersion: textCell(driver!),
      utilization: percent !== undefined && percent <= 100 ? percent / 100 : undefined,
      memoryUsedBytes: memoryUsedMib !== undefined ? memoryUsedMib * MIB : undefined,
      memoryTotalBytes: memoryTotalMib !== undefined ? memoryTotalMib * MIB : undefined,
    });
  }
  return { gpus, otherLines };
}

/** The attributes of one GPU's points. */
export function gpuAttributes(gpu: GpuSample): Attributes {
  return {
    [GPU_ATTR.type]: HW_TYPE.gpu,
    [GPU_ATTR.id]: gpu.id,
    [GPU_ATTR.name]: `GPU ${gpu.index}`,
    [GPU_ATTR.vendor]: 'NVIDIA',
    ...(gpu.model !== undefined ? { [GPU_ATTR.model]: gpu.model } : {}),
    ...(gpu.driverVersion !== undefined ? { [GPU_ATTR.driverVersion]: gpu.driverVersion } : {}),
  };
}

/** The value of each gauge for one GPU; undefined when nvidia-smi did not give what it needs. */
export function gpuValues(gpu: GpuSample): { readonly [K in GpuInstrumentKey]: number | undefined } {
  const { memoryUsedBytes: used, memoryTotalBytes: total } = gpu;
  return {
    utilization: gpu.utilization,
    memoryUtilization: used !== undefined && total !== undefined && total > 0 && used <= total ? used / total : undefined,
    memoryUsage: used,
    memoryLimit: total,
  };
}

export interface GpuPollerOptions {
  readonly intervalMillis: number;
  /** OTEL_INFERENCE_GPU_METRICS=true: say why when there are no GPU metrics. Default: silent. */
  readonly explicit?: boolean;
  /** Default `nvidia-smi`, looked up on PATH. */
  readonly command?: string;
}

interface Outcome {
  readonly gpus: GpuSample[];
  readonly otherLines: string[];
  /** Why the poll gave no GPU, when it gave none. */
  readonly failure?: string;
  /** No nvidia-smi to run. */
  readonly absent?: boolean;
  /** It did not answer in time: a driver or GPU in trouble, not a host without one. */
  readonly timedOut?: boolean;
}

/**
 * Polls nvidia-smi every `intervalMillis` and reports the last sample through observable
 * gauges on `meterProvider`. `start()` returns at once; `stop()` ends the timer and any
 * nvidia-smi still running.
 */
export class GpuPoller {
  private readonly command: string;
  private readonly timeoutMillis: number;
  private samples: GpuSample[] = [];
  /** True while the last poll gave GPUs: the gauges observe nothing from a failed poll. */
  private fresh = false;
  private timer: NodeJS.Timeout | undefined;
  private child: ChildProcess | undefined;
  private failing = false;
  /** Created at the first poll that lists a GPU: with none, there are no instruments at all. */
  private instrumentsCreated = false;
  private stopped = false;
  private readonly warnedLines = new Set<string>();

  constructor(
    private readonly meterProvider: MeterProvider,
    private readonly options: GpuPollerOptions,
  ) {
    this.command = options.command ?? 'nvidia-smi';
    // A sample is about as old as the interval; the floor leaves a slow nvidia-smi (seconds, on
    // many GPUs without persistence mode) time to answer at short intervals.
    this.timeoutMillis = Math.min(Math.max(options.intervalMillis, POLL_TIMEOUT_BOUNDS_MILLIS.min), POLL_TIMEOUT_BOUNDS_MILLIS.max);
  }

  start(): void {
    void this.poll().then((outcome) => {
      if (this.stopped) return;
      // The first answer decides: no nvidia-smi, or one that lists no GPU, is a host without a
      // GPU to report, and is never asked again. One that hangs is a GPU in trouble: polled on.
      if (outcome.gpus.length === 0 && !outcome.timedOut) {
        const why = outcome.absent ? `${this.command} was not found` : `${this.command} found no GPU (${outcome.failure})`;
        if (this.options.explicit) diag.warn(`OTEL_INFERENCE_GPU_METRICS=true, but ${why}; no GPU metrics`);
        else diag.debug(`no GPU metrics: ${why}`);
        return;
      }
      this.accept(outcome);
      this.timer = setInterval(() => this.tick(), this.options.intervalMillis);
      this.timer.unref();
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.child?.kill('SIGKILL');
  }

  private tick(): void {
    // One nvidia-smi at a time: one that hangs (a GPU in trouble) holds the next poll back
    // rather than piling up processes.
    if (this.child !== undefined || this.stopped) return;
    void this.poll().then((outcome) => {
      if (!this.stopped) this.accept(outcome);
    });
  }

  private accept(outcome: Outcome): void {
    for (const line of outcome.otherLines) {
      if (outcome.gpus.length > 0 && !this.warnedLines.has(line)) {
        this.warnedLines.add(line);
        diag.warn(`nvidia-smi: ${line}`);
      }
    }
    if (outcome.gpus.length === 0) {
      this.fresh = false;
      if (!this.failing) {
        this.failing = true;
        diag.warn(`GPU metrics: ${outcome.failure ?? 'nvidia-smi listed no GPU'}; the GPU gauges get no new value until it answers again`);
      }
      return;
    }
    if (this.failing) diag.info('GPU metrics: nvidia-smi answers again');
    this.failing = false;
    if (!this.instrumentsCreated) this.createInstruments();
    this.samples = outcome.gpus;
    this.fresh = true;
  }

  private createInstruments(): void {
    this.instrumentsCreated = true;
    const meter = this.meterProvider.getMeter(METER_NAME, VERSION);
    const options = (key: GpuInstrumentKey) => {
      const spec = GPU_INSTRUMENT[key];
      return { description: spec.description, unit: spec.unit, valueType: spec.valueType === 'int' ? ValueType.INT : ValueType.DOUBLE };
    };
    const create = (key: GpuInstrumentKey): Observable => {
      const spec = GPU_INSTRUMENT[key];
      return spec.kind === 'gauge'
        ? meter.createObservableGauge(spec.name, options(key))
        : meter.createObservableUpDownCounter(spec.name, options(key));
    };
    const instruments: { readonly [K in GpuInstrumentKey]: Observable } = {
      utilization: create('utilization'),
      memoryUtilization: create('memoryUtilization'),
      memoryUsage: create('memoryUsage'),
      memoryLimit: create('memoryLimit'),
    };
    meter.addBatchObservableCallback((result) => {
      if (!this.fresh) return;
      for (const gpu of this.samples) {
        const attributes = gpuAttributes(gpu);
        const values = gpuValues(gpu);
        for (const key of Object.keys(instruments) as GpuInstrumentKey[]) {
          const value = values[key];
          if (value !== undefined) result.observe(instruments[key], value, attributes);
        }
      }
    }, Object.values(instruments));
  }

  /** Runs nvidia-smi once; never rejects. Resolves at the timeout even when the process cannot be killed. */
  private poll(): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const finish = (outcome: Outcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(outcome);
      };
      let child: ChildProcess;
      try {
        child = execFile(
          this.command,
          NVIDIA_SMI_ARGS,
          { encoding: 'utf8', windowsHide: true, maxBuffer: 1024 * 1024 },
          (error, stdout) => {
            this.child = undefined;
            const { gpus, otherLines } = parseNvidiaSmi(stdout ?? '');
            // nvidia-smi exits non-zero when one GPU fails, and still lists the others.
            if (gpus.length > 0) return finish({ gpus, otherLines });
            const code = (error as NodeJS.ErrnoException | null)?.code;
            if (code === 'ENOENT' || code === 'EACCES') return finish({ gpus, otherLines, absent: true, failure: String(code) });
            const exit = error ? `nvidia-smi exited with ${error.code ?? (error as { signal?: string }).signal ?? 'an error'}` : 'nvidia-smi listed no GPU';
            finish({ gpus, otherLines, failure: otherLines[0] ?? exit });
          },
        );
      } catch (error) {
        resolve({ gpus: [], otherLines: [], absent: true, failure: error instanceof Error ? error.message : String(error) });
        return;
      }
      this.child = child;
      child.unref();
      // Its pipes hold the event loop too, until it exits: a hung nvidia-smi must not.
      for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
      child.stdin?.end();
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        // execFile reports once the pipes close: a process holding them (a wrapper's child)
        // would delay that past the kill. `this.child` stays set until then, so no second
        // nvidia-smi starts beside one that cannot be killed.
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish({ gpus: [], otherLines: [], timedOut: true, failure: `nvidia-smi did not answer within ${this.timeoutMillis} ms` });
      }, this.timeoutMillis);
      timer.unref();
    });
  }
}
