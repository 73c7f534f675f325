import type { Backend } from './backend.js';
import { CheckpointError } from './errors.js';
import { engine } from './engine.js';
import type { PickleGlobals, PickleValue } from './pickle.js';
import { describe, loadPickle, PickleDict, PickleGlobal, PickleObject, PickleTuple } from './pickle.js';
import type { ByteSource, ReadTensorData, SafetensorsDType, TensorFileReader } from './safetensors.js';
import { bytesSource, decodeTensorBytes, ELEMENT_BYTES } from './safetensors.js';
import { formatShape, sizeOf } from './shape.js';
import type { Tensor } from './tensor.js';
import { ZipArchive } from './zip.js';

/*
 * PyTorch's checkpoint format (torch.save since 1.6, e.g. `pytorch_model.bin`): a zip holding
 * `<archive>/data.pkl`, a protocol-2 pickle of a dict of tensors, and `<archive>/data/<key>`,
 * one raw little-endian storage per key. A tensor is `_rebuild_tensor_v2(storage, offset, size,
 * stride, requires_grad, hooks)` over the persistent id `('storage', <dtype>Storage, key,
 * location, numel)`; tensors may share a storage (tied weights) at any offset and stride.
 * The pickle is read by the restricted machine in pickle.ts: nothing is executed.
 */

/** The storage classes a state_dict may name, and their stored dtypes. */
export const TORCH_STORAGE_DTYPES: Readonly<Record<string, SafetensorsDType>> = {
  FloatStorage: 'F32',
  DoubleStorage: 'F64',
  HalfStorage: 'F16',
  BFloat16Storage: 'BF16',
  LongStorage: 'I64',
  IntStorage: 'I32',
  ShortStorage: 'I16',
  CharStorage: 'I8',
  ByteStorage: 'U8',
  BoolStorage: 'BOOL',
};

export interface TorchStorage {
  readonly key: string;
  readonly dtype: SafetensorsDType;
  readonly numel: number;
  /** The zip entry holding its bytes. */
  readonly entry: string;
}

export interface TorchTensorEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  readonly stride: readonly number[];
  /** In elements of the storage. */
  readonly storageOffset: number;
  readonly storage: TorchStorage;
  /** Bytes of the tensor's own data (numel · element size). */
  readonly byteLength: number;
}

interface TensorDescriptor {
  storage: TorchStorage;
  offset: number;
  size: number[];
  stride: number[];
}

function intList(v: PickleValue, what: string, label: string): number[] {
  if (!(v instanceof PickleTuple) && !Array.isArray(v)) throw new CheckpointError(`${label}: ${what} must be a tuple of integers, got ${describe(v)}`);
  const items = v instanceof PickleTuple ? v.items : v;
  return items.map((x) => {
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw new CheckpointError(`${label}: ${what} holds ${String(x)}, not a non-negative integer`);
    return x;
  });
}

function globalsFor(label: string): PickleGlobals {
  const rebuildTensor = (args: readonly PickleValue[]): PickleValue => {
    if (args.length < 4) throw new CheckpointError(`${label}: _rebuild_tensor_v2 needs (storage, offset, size, stride, ...), got ${args.length} arguments`);
    const [storage, offset] = args;
    if (!(storage instanceof PickleObject) || storage.kind !== 'storage') throw new CheckpointError(`${label}: _rebuild_tensor_v2's first argument is a ${describe(storage)}, not a storage`);
    if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) throw new CheckpointError(`${label}: storage offset ${String(offset)} is not a non-negative integer`);
    const size = intList(args[2], 'size', label);
    const stride = intList(args[3], 'stride', label);
    if (size.length !== stride.length) throw new CheckpointError(`${label}: size ${formatShape(size)} and stride (${stride.join(', ')}) differ in rank`);
    const d: TensorDescriptor = { storage: storage.value as TorchStorage, offset, size, stride };
    return new PickleObject('tensor', d);
  };
  const globals: PickleGlobals = {
    'collections.OrderedDict': (args) => {
      if (args.length > 0) throw new CheckpointError(`${label}: OrderedDict(...) with arguments is not supported`);
      return new PickleDict();
    },
    'torch._utils._rebuild_tensor_v2': rebuildTensor,
    // nn.Parameter: (data, requires_grad, backward_hooks); the tensor is all a state_dict needs.
    'torch._utils._rebuild_parameter': (args) => {
      if (!(args[0] instanceof PickleObject) || args[0].kind !== 'tensor') throw new CheckpointError(`${label}: _rebuild_parameter's data is a ${describe(args[0])}, not a tensor`);
      return args[0];
    },
  };
  for (const s of Object.keys(TORCH_STORAGE_DTYPES)) globals[`torch.${s}`] = null;
  return globals;
}

/** Reads a PyTorch zip checkpoint's tensors, one at a time, on demand. */
export class TorchCheckpointReader implements TensorFileReader {
  readonly entries: ReadonlyMap<string, TorchTensorEntry>;
  private constructor(
    private readonly zip: ZipArchive,
    entries: Map<string, TorchTensorEntry>,
  ) {
    this.entries = entries;
  }

  static async open(source: ByteSource, label = 'pytorch checkpoint'): Promise<TorchCheckpointReader> {
    const zip = await ZipArchive.open(source, label);
    const pkls = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n));
    if (pkls.length !== 1) {
      throw new CheckpointError(`${label}: expected one "<name>/data.pkl" in the archive, found ${pkls.length ? pkls.join(', ') : 'none'} (is this a legacy, pre-1.6 torch.save file? re-save it with a current PyTorch)`);
    }
    const prefix = pkls[0].slice(0, -'data.pkl'.length);
    const order = zip.entries.get(`${prefix}byteorder`);
    if (order) {
      const text = new TextDecoder().decode(await zip.readEntry(order.name));
      if (text !== 'little') throw new CheckpointError(`${label}: byteorder is "${text}"; only little-endian checkpoints are supported`);
    }
    const storages = new Map<string, TorchStorage>();
    const persistentLoad = (pid: PickleValue): PickleValue => new PickleObject('storage', storageOf(pid, storages, zip, prefix, label));
    const root = loadPickle(await zip.readEntry(pkls[0]), { globals: globalsFor(label), persistentLoad, label: `${label}: ${pkls[0]}` });
    return new TorchCheckpointReader(zip, tensorEntries(root, label));
  }

  static fromBytes(bytes: Uint8Array, label?: string): Promise<TorchCheckpointReader> {
    return TorchCheckpointReader.open(bytesSource(bytes), label);
  }

  get names(): string[] {
    return [...this.entries.keys()];
  }

  entry(name: string): TorchTensorEntry {
    const e = this.entries.get(name);
    if (!e) throw new CheckpointError(`${this.zip.label}: no tensor named "${name}" (the file has ${this.entries.size}: ${this.names.slice(0, 8).join(', ')}${this.entries.size > 8 ? ', ...' : ''})`);
    return e;
  }

  /** The tensor's elements, contiguous and row-major, in the stored dtype. */
  async readBytes(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    const eb = ELEMENT_BYTES[e.dtype];
    const n = sizeOf(e.shape);
    if (n === 0) return new Uint8Array(0);
    const span = lastIndex(e) + 1 - e.storageOffset;
    const raw = await this.zip.readRange(e.storage.entry, e.storageOffset * eb, span * eb);
    if (isContiguous(e.shape, e.stride)) return raw;
    const out = new Uint8Array(n * eb);
    const rank = e.shape.length;
    const idx = new Array<number>(rank).fill(0);
    for (let i = 0; i < n; i++) {
      let src = 0;
      for (let d = 0; d < rank; d++) src += idx[d] * e.stride[d];
      out.set(raw.subarray(src * eb, (src + 1) * eb), i * eb);
      for (let d = rank - 1; d >= 0; d--) {
        if (++idx[d] < e.shape[d]) break;
        idx[d] = 0;
      }
    }
    return out;
  }

  /** Reads and converts one tensor: floats to float32 (or float64 from F64 when asked), ints to int32. */
  async read(name: string, opts?: { float64?: boolean }): Promise<ReadTensorData> {
    const e = this.entry(name);
    const bytes = await this.readBytes(name);
    return { ...decodeTensorBytes(bytes, e, opts?.float64 ?? false), shape: [...e.shape], stored: e.dtype };
  }

  /** Reads one tensor onto a backend (the active one by default). */
  async tensor(name: string, opts?: { backend?: Backend; float64?: boolean }): Promise<Tensor> {
    const { values, shape, dtype } = await this.read(name, opts);
    const backend = opts?.backend ?? engine.getBackend();
    return engine.makeTensor(backend, backend.upload(values, shape, dtype), shape, dtype);
  }

  /** Names that view exactly the same elements as `name` (tied weights share one storage). */
  aliasesOf(name: string): string[] {
    const e = this.entry(name);
    return this.names.filter((n) => n !== name && sameView(e, this.entry(n)));
  }

  async close(): Promise<void> {
    await this.zip.source.close?.();
  }
}

function storageOf(pid: PickleValue, storages: Map<string, TorchStorage>, zip: ZipArchive, prefix: string, label: string): TorchStorage {
  if (!(pid instanceof PickleTuple) || pid.items.length !== 5 || pid.items[0] !== 'storage') {
    throw new CheckpointError(`${label}: persistent id must be ('storage', type, key, location, numel), got a ${describe(pid)}`);
  }
  const [, type, key, , numel] = pid.items;
  if (!(type instanceof PickleGlobal) || type.module !== 'torch' || !Object.hasOwn(TORCH_STORAGE_DTYPES, type.name)) {
    throw new CheckpointError(`${label}: storage type ${describe(type)} is not a torch storage class`);
  }
  if (typeof key !== 'string') throw new CheckpointError(`${label}: storage key must be a string, got ${describe(key)}`);
  if (typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0) throw new CheckpointError(`${label}: storage "${key}" has element count ${String(numel)}`);
  const dtype = TORCH_STORAGE_DTYPES[type.name];
  const known = storages.get(key);
  if (known) {
    if (known.dtype !== dtype || known.numel !== numel) throw new CheckpointError(`${label}: storage "${key}" is named as ${known.numel} ${known.dtype} and as ${numel} ${dtype}`);
    return known;
  }
  const entry = `${prefix}data/${key}`;
  const z = zip.entries.get(entry);
  if (!z) throw new CheckpointError(`${label}: storage "${key}" has no entry "${entry}" in the archive (truncated?)`);
  if (z.size !== numel * ELEMENT_BYTES[dtype]) {
    throw new CheckpointError(`${label}: storage "${key}" should hold ${numel} ${dtype} (${numel * ELEMENT_BYTES[dtype]} bytes) but its entry has ${z.size} bytes`);
  }
  const s: TorchStorage = { key, dtype, numel, entry };
  storages.set(key, s);
  return s;
}

function tensorEntries(root: PickleValue, label: string): Map<string, TorchTensorEntry> {
  if (!(root instanceof PickleDict)) throw new CheckpointError(`${label}: the pickle holds a ${describe(root)}, not a state_dict (a dict of tensors)`);
  // Trainer checkpoints wrap the weights: {"state_dict": {...}} or {"model": {...}}.
  for (const wrap of ['state_dict', 'model']) {
    const inner = root.map.get(wrap);
    if (root.map.size <= 4 && inner instanceof PickleDict) return tensorEntries(inner, label);
  }
  const out = new Map<string, TorchTensorEntry>();
  for (const [k, v] of root.map) {
    if (typeof k !== 'string') throw new CheckpointError(`${label}: state_dict key ${String(k)} is not a string`);
    if (!(v instanceof PickleObject) || v.kind !== 'tensor') throw new CheckpointError(`${label}: "${k}" is a ${describe(v)}, not a tensor`);
    const d = v.value as TensorDescriptor;
    const e: TorchTensorEntry = {
      name: k,
      dtype: d.storage.dtype,
      shape: d.size,
      stride: d.stride,
      storageOffset: d.offset,
      storage: d.storage,
      byteLength: sizeOf(d.size) * ELEMENT_BYTES[d.storage.dtype],
    };
    if (sizeOf(d.size) > d.storage.numel) {
      throw new CheckpointError(`${label}: tensor "${k}" (${formatShape(d.size)}) has more elements than its storage "${d.storage.key}" (${d.storage.numel}): expanded views are not supported`);
    }
    if (sizeOf(d.size) > 0 && lastIndex(e) >= d.storage.numel) {
      throw new CheckpointError(
        `${label}: tensor "${k}" (${formatShape(d.size)}, stride (${d.stride.join(', ')}), offset ${d.offset}) reaches element ${lastIndex(e)} of storage "${d.storage.key}", which holds ${d.storage.numel}`,
      );
    }
    out.set(k, e);
  }
  return out;
}

function lastIndex(e: { shape: readonly number[]; stride: readonly number[]; storageOffset: number }): number {
  let last = e.storageOffset;
  for (let d = 0; d < e.shape.length; d++) last += (e.shape[d] - 1) * e.stride[d];
  return last;
}

function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expect = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expect) return false;
    expect *= shape[d];
  }
  return true;
}

function sameView(a: TorchTensorEntry, b: TorchTensorEntry): boolean {
  return a.storage === b.storage && a.storageOffset === b.storageOffset && a.shape.join() === b.shape.join() && a.stride.join() === b.stride.join();
}
