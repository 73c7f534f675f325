import { BackendUnavailableError } from '@mamba3/tensor';

/** How to get a device: pass your own, or let us find the GPU (browser `navigator.gpu`, or Dawn in Node). */
export interface DeviceOptions {
  /** A device you created; the backend uses it as is (features and limits included). */
  device?: GPUDevice;
  /** An adapter to request the device from. */
  adapter?: GPUAdapter;
  /** The `GPU` entry point (default `navigator.gpu`, else the `webgpu` package in Node). Tests pass fakes here. */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /** Request `shader-f16` (for the opt-in f16 weight path) when the adapter has it. */
  f16?: boolean;
  /**
   * Node only: the flags for Dawn's `create()` in the `webgpu` package (default
   * `DEFAULT_DAWN_FLAGS`), e.g. `'enable-dawn-features=skip_validation'` (no WebGPU validation; a
   * bad command is then undefined behaviour instead of an error). Replaces the defaults.
   */
  dawnFlags?: readonly string[];
}

export interface AcquiredDevice {
  device: GPUDevice;
  /** Adapter description for `info.device`. */
  description: string;
  features: ReadonlySet<string>;
  /** The adapter's subgroup size range ([0, 0] when unknown). */
  subgroupSizes: [number, number];
  /** A software adapter (`isFallbackAdapter`: lavapipe, SwiftShader): the "GPU" runs on the CPU's cores. */
  software: boolean;
}

const HOW_TO_GET_ONE =
  'In Node, install the optional peer `webgpu` (npm i webgpu@0.6.2) and a Vulkan driver: on a machine without a GPU, ' +
  "Mesa's lavapipe (Debian: apt-get install mesa-vulkan-drivers, Mesa >= 24; bookworm needs bookworm-backports) with " +
  'XDG_RUNTIME_DIR set (e.g. /tmp). In a browser, use one with WebGPU enabled (Chrome/Edge >= 113, or chrome://flags/#enable-unsafe-webgpu).';

interface NavigatorWithGPU {
  gpu?: GPU;
}

/** The `webgpu` package's module shape (Dawn bindings for Node). */
interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

/**
 * Dawn's flags in Node: GPU timestamps to the nanosecond. Dawn rounds them down to 65.5 µs
 * steps by default, against timing attacks in browsers, where the page is untrusted. Here that
 * rounding only blurs `timeGpu` and `profile`: a 0.52 ms decode step read as 8 whole steps.
 */
export const DEFAULT_DAWN_FLAGS: readonly string[] = ['disable-dawn-features=timestamp_quantization'];

/** Dawn's `GPU` per set of flags: one instance serves every backend created with the same flags. */
const nodeGpus = new Map<string, Promise<GPU>>();

/** Loads Dawn only when a Node backend is first initialised; a variable specifier keeps browser bundlers off it. */
function loadNodeGpu(flags: readonly string[] = DEFAULT_DAWN_FLAGS): Promise<GPU> {
  const key = flags.join('\n');
  let nodeGpu = nodeGpus.get(key);
  if (nodeGpu) return nodeGpu;
  nodeGpu = (async () => {
    const specifier = 'webgpu';
    let mod: DawnModule;
    try {
      mod = (await import(/* @vite-ignore */ specifier)) as DawnModule;
    } catch (err) {
      nodeGpus.delete(key);
      throw new BackendUnavailableError(
        `webgpu: cannot load the \`webgpu\` package (Dawn for Node): ${err instanceof Error ? err.message : String(err)}. ${HOW_TO_GET_ONE}`,
      );
    }
    // Dawn's GPUBufferUsage & co. live in `globals`; code written for browsers expects them global.
    for (const [k, v] of Object.entries(mod.globals)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
    return mod.create([...flags]);
  })();
  nodeGpus.set(key, nodeGpu);
  return nodeGpu;
}

async function findGpu(opts: DeviceOptions): Promise<GPU> {
  if (opts.gpu) return opts.gpu;
  const nav = (globalThis as { navigator?: NavigatorWithGPU }).navigator;
  if (nav?.gpu) return nav.gpu;
  const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';
  if (!isNode) throw new BackendUnavailableError(`webgpu: this environment has no navigator.gpu. ${HOW_TO_GET_ONE}`);
  return loadNodeGpu(opts.dawnFlags);
}

/** The limits we raise to the adapter's maximum: big buffers and large workgroup tiles. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupsPerDimension',
] as const;

export function describeAdapter(adapter: GPUAdapter): string {
  const i = adapter.info as GPUAdapterInfo | undefined;
  const parts = [i?.vendor, i?.architecture, i?.device, i?.description].filter((s): s is string => !!s);
  return parts.length ? parts.join(' ') : 'WebGPU adapter';
}

/** Finds an adapter and requests a device with the limits and features the kernels use. */
export async function acquireDevice(opts: DeviceOptions): Promise<AcquiredDevice> {
  if (opts.device) {
    const info = (opts.device as GPUDevice & { adapterInfo?: GPUAdapterInfo & { isFallbackAdapter?: boolean } }).adapterInfo;
    return { device: opts.device, description: 'user-provided GPUDevice', features: new Set(opts.device.features), subgroupSizes: [0, 0], software: info?.isFallbackAdapter === true };
  }
  let adapter = opts.adapter ?? null;
  if (!adapter) {
    const gpu = await findGpu(opts);
    try {
      adapter = await gpu.requestAdapter(opts.powerPreference ? { powerPreference: opts.powerPreference } : undefined);
    } catch (err) {
      throw new BackendUnavailableError(`webgpu: requestAdapter failed: ${err instanceof Error ? err.message : String(err)}. ${HOW_TO_GET_ONE}`);
    }
    if (!adapter) throw new BackendUnavailableError(`webgpu: no WebGPU adapter is available (requestAdapter returned null). ${HOW_TO_GET_ONE}`);
  }
  const requiredLimits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) {
    const v = adapter.limits[k];
    if (typeof v === 'number') requiredLimits[k] = v;
  }
  const wanted: GPUFeatureName[] = ['subgroups', 'timestamp-query'];
  if (opts.f16) wanted.push('shader-f16');
  const requiredFeatures = wanted.filter((f) => adapter.features.has(f));
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  } catch (err) {
    throw new BackendUnavailableError(
      `webgpu: the adapter (${describeAdapter(adapter)}) refused a device: ${err instanceof Error ? err.message : String(err)}. ${HOW_TO_GET_ONE}`,
    );
  }
  const info = adapter.info as GPUAdapterInfo & { subgroupMinSize?: number; subgroupMaxSize?: number; isFallbackAdapter?: boolean };
  return {
    device,
    description: describeAdapter(adapter),
    features: new Set(device.features),
    subgroupSizes: [info?.subgroupMinSize ?? 0, info?.subgroupMaxSize ?? 0],
    software: info?.isFallbackAdapter === true,
  };
}
