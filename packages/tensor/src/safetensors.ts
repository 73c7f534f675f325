import type { Backend } from './backend.js';
import type { DType, TypedArray } from './dtype.js';
import { engine } from './engine.js';
import { SafetensorsError } from './errors.js';
import type { Tensor } from './tensor.js';
import { formatShape, sizeOf } from './shape.js';

/*
 * The safetensors format: an 8-byte little-endian header length n, n bytes of UTF-8 JSON
 * ({ name: { dtype, shape, data_offsets: [begin, end] }, "__metadata__": { str: str } }), then
 * the data, which the entries must cover exactly (no holes, no overlaps), row-major, little-endian.
 */

export type SafetensorsDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

export const ELEMENT_BYTES: Record<SafetensorsDType, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** Headers larger than this are refused (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: SafetensorsDType;
  readonly shape: readonly number[];
  /** Offset from the start of the file. */
  readonly byteOffset: number;
  readonly byteLength: number;
}

/** Random access to bytes: a buffer in memory, a file, a Blob, a ranged URL. */
export interface ByteSource {
  readonly byteLength: number;
  read(offset: number, length: number): Promise<Uint8Array>;
  close?(): Promise<void>;
}

export function bytesSource(bytes: Uint8Array): ByteSource {
  return {
    byteLength: bytes.byteLength,
    read: async (offset, length) => bytes.subarray(offset, offset + length),
  };
}

/** A Blob or File (browsers; Node 20 too). */
export function blobSource(blob: Blob): ByteSource {
  return {
    byteLength: blob.size,
    read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()),
  };
}

/** What every checkpoint reader (safetensors, PyTorch zip) offers: names, shapes, one tensor at a time. */
export interface TensorFileReader {
  readonly names: string[];
  entry(name: string): { readonly dtype: SafetensorsDType; readonly shape: readonly number[]; readonly byteLength: number };
  read(name: string, opts?: { float64?: boolean }): Promise<ReadTensorData>;
  /** The tensor's elements in the stored dtype, contiguous, little-endian. */
  readBytes(name: string): Promise<Uint8Array>;
  close(): Promise<void>;
}

export interface ReadTensorData {
  values: TypedArray;
  shape: number[];
  dtype: DType;
  /** The dtype stored in the file. */
  stored: SafetensorsDType;
}

/** A parsed safetensors header over a byte source; tensors are read one at a time, on demand. */
export class SafetensorsReader implements TensorFileReader {
  readonly metadata: Readonly<Record<string, string>>;
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
  private readonly source: ByteSource;

  private constructor(source: ByteSource, entries: Map<string, SafetensorsEntry>, metadata: Record<string, string>) {
    this.source = source;
    this.entries = entries;
    this.metadata = metadata;
  }

  static async open(source: ByteSource, label = 'safetensors'): Promise<SafetensorsReader> {
    if (source.byteLength < 8) throw new SafetensorsError(`${label}: ${source.byteLength} bytes is too short for a header length (8 bytes)`);
    const lenBytes = await source.read(0, 8);
    const view = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8);
    const headerLen = Number(view.getBigUint64(0, true));
    if (headerLen > MAX_HEADER_BYTES) throw new SafetensorsError(`${label}: header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`);
    if (8 + headerLen > source.byteLength) {
      throw new SafetensorsError(`${label}: header length ${headerLen} runs past the end of the file (${source.byteLength} bytes)`);
    }
    const headerBytes = await source.read(8, headerLen);
    const { entries, metadata } = parseHeader(headerBytes, 8 + headerLen, source.byteLength, label);
    return new SafetensorsReader(source, entries, metadata);
  }

  static fromBytes(bytes: Uint8Array, label?: string): Promise<SafetensorsReader> {
    return SafetensorsReader.open(bytesSource(bytes), label);
  }

  get names(): string[] {
    return [...this.entries.keys()];
  }

  entry(name: string): SafetensorsEntry {
    const e = this.entries.get(name);
    if (!e) throw new SafetensorsError(`no tensor named "${name}" (the file has ${this.entries.size}: ${[...this.entries.keys()].slice(0, 8).join(', ')}${this.entries.size > 8 ? ', ...' : ''})`);
    return e;
  }

  async readBytes(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    return this.source.read(e.byteOffset, e.byteLength);
  }

  /** Reads and converts one tensor: floats to float32 (or float64 from F64 when asked), ints to int32. */
  async read(name: string, opts?: { float64?: boolean }): Promise<ReadTensorData> {
    const e = this.entry(name);
    const bytes = await this.source.read(e.byteOffset, e.byteLength);
    return { ...decodeTensorBytes(bytes, e, opts?.float64 ?? false), shape: [...e.shape], stored: e.dtype };
  }

  /** Reads one tensor onto a backend (the active one by default). */
  async tensor(name: string, opts?: { backend?: Backend; float64?: boolean }): Promise<Tensor> {
    const { values, shape, dtype } = await this.read(name, opts);
    const backend = opts?.backend ?? engine.getBackend();
    return engine.makeTensor(backend, backend.upload(values, shape, dtype), shape, dtype);
  }

  async close(): Promise<void> {
    await this.source.close?.();
  }
}

function parseHeader(bytes: Uint8Array, dataStart: number, fileLength: number, label: string) {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new SafetensorsError(`${label}: the header is not valid UTF-8 JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) throw new SafetensorsError(`${label}: the header must be a JSON object`);
  const entries = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  const dataLength = fileLength - dataStart;
  const spans: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(raw, label);
      continue;
    }
    const where = `${label}: tensor "${name}"`;
    if (raw === null || typeof raw !== 'object') throw new SafetensorsError(`${where}: entry must be an object`);
    const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
    if (typeof dtype !== 'string' || !Object.hasOwn(ELEMENT_BYTES, dtype)) throw new SafetensorsError(`${where}: unsupported dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`${where}: shape ${JSON.stringify(shape)} must be a list of non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw new SafetensorsError(`${where}: data_offsets ${JSON.stringify(offsets)} must be [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) throw new SafetensorsError(`${where}: data_offsets [${begin}, ${end}] run past the data (${dataLength} bytes)`);
    const expected = sizeOf(shape) * ELEMENT_BYTES[dtype as SafetensorsDType];
    if (end - begin !== expected) {
      throw new SafetensorsError(`${where}: ${end - begin} bytes for ${dtype} ${formatShape(shape)}, expected ${expected}`);
    }
    entries.set(name, { name, dtype: dtype as SafetensorsDType, shape, byteOffset: dataStart + begin, byteLength: end - begin });
    spans.push([begin, end, name]);
  }
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cursor = 0;
  for (const [begin, end, name] of spans) {
    if (begin < cursor) throw new SafetensorsError(`${label}: tensor "${name}" overlaps the tensor before it (bytes ${begin}..${cursor})`);
    if (begin > cursor) throw new SafetensorsError(`${label}: bytes ${cursor}..${begin} of the data belong to no tensor (before "${name}")`);
    cursor = end;
  }
  if (cursor !== dataLength) throw new SafetensorsError(`${label}: the last ${dataLength - cursor} bytes of the data belong to no tensor`);
  return { entries, metadata };
}

function parseMetadata(raw: unknown, label: string): Record<string, string> {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new SafetensorsError(`${label}: __metadata__ must be an object of strings`);
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new SafetensorsError(`${label}: __metadata__["${k}"] must be a string, got ${typeof v}`);
  }
  return { ...(raw as Record<string, string>) };
}

// Conversions -----------------------------------------------------------------------------------

export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float -> IEEE half bits, rounding to nearest even. */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa correctly bumps the exponent (up to infinity).
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** float -> bfloat16 bits, rounding to nearest even. */
export function floatToBf16(value: number): number {
  f32[0] = value;
  const x = u32[0];
  if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) return (x >>> 16) | 0x40;
  const rounded = x + 0x7fff + ((x >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

/** Converts little-endian stored elements: floats to float32 (or float64 from F64 when asked), ints to int32. */
export function decodeTensorBytes(bytes: Uint8Array, e: { name: string; dtype: SafetensorsDType; shape: readonly number[] }, float64: boolean): { values: TypedArray; dtype: DType } {
  const n = sizeOf(e.shape);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (e.dtype) {
    case 'F32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      return { values: out, dtype: 'float32' };
    }
    case 'F64': {
      const out = float64 ? new Float64Array(n) : new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      return { values: out, dtype: float64 ? 'float64' : 'float32' };
    }
    case 'F16': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
      return { values: out, dtype: 'float32' };
    }
    case 'BF16': {
      const out = new Float32Array(n);
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = view.getUint16(i * 2, true) << 16;
      return { values: out, dtype: 'float32' };
    }
    case 'I64': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const v = view.getBigInt64(i * 8, true);
        if (v > 2147483647n || v < -2147483648n) {
          throw new SafetensorsError(`tensor "${e.name}": I64 value ${v} at index ${i} does not fit int32`);
        }
        out[i] = Number(v);
      }
      return { values: out, dtype: 'int32' };
    }
    case 'I32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(i * 4, true);
      return { values: out, dtype: 'int32' };
    }
    case 'I16': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(i * 2, true);
      return { values: out, dtype: 'int32' };
    }
    case 'I8': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
      return { values: out, dtype: 'int32' };
    }
    case 'U8':
    case 'BOOL': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getUint8(i);
      return { values: out, dtype: 'int32' };
    }
  }
}

// Writing ---------------------------------------------------------------------------------------

export interface TensorRecord {
  /** Stored dtype; default F32 for float arrays, I32 for Int32Array, F64 for Float64Array. */
  dtype?: SafetensorsDType;
  shape: readonly number[];
  values: ArrayLike<number>;
}

const WRITABLE: ReadonlySet<SafetensorsDType> = new Set(['F64', 'F32', 'F16', 'BF16', 'I64', 'I32']);

function defaultStored(values: ArrayLike<number>): SafetensorsDType {
  if (values instanceof Int32Array) return 'I32';
  if (values instanceof Float64Array) return 'F64';
  return 'F32';
}

/** One tensor of a safetensors file being planned: its stored dtype and shape. */
export interface TensorSpec {
  dtype: SafetensorsDType;
  shape: readonly number[];
}

export interface SafetensorsPlan {
  /** The 8-byte length and the padded JSON header: the file's first bytes. */
  header: Uint8Array;
  /** Tensors in file order, each with its offset from the end of the header. */
  order: { name: string; dtype: SafetensorsDType; begin: number; byteLength: number }[];
  /** Total file size. */
  byteLength: number;
}

/** Lays out a safetensors file (tensors in name order) without its data, so it can be written piece by piece. */
export function planSafetensors(specs: Record<string, TensorSpec>, metadata?: Record<string, string>): SafetensorsPlan {
  const names = Object.keys(specs).sort();
  // No prototype: a tensor named "__proto__" is an entry like any other, not a prototype change.
  const header = Object.create(null) as Record<string, unknown>;
  if (metadata && Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  const order: SafetensorsPlan['order'] = [];
  for (const name of names) {
    if (name === '__metadata__') throw new SafetensorsError('"__metadata__" is reserved and cannot name a tensor');
    const { dtype, shape } = specs[name];
    if (!WRITABLE.has(dtype)) throw new SafetensorsError(`tensor "${name}": writing ${dtype} is not supported`);
    const len = sizeOf(shape) * ELEMENT_BYTES[dtype];
    header[name] = { dtype, shape: [...shape], data_offsets: [offset, offset + len] };
    order.push({ name, dtype, begin: offset, byteLength: len });
    offset += len;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
  const rawLen = new TextEncoder().encode(json).length;
  json += ' '.repeat((8 - ((8 + rawLen) % 8)) % 8);
  const headerJson = new TextEncoder().encode(json);
  const head = new Uint8Array(8 + headerJson.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerJson.length), true);
  head.set(headerJson, 8);
  return { header: head, order, byteLength: head.length + offset };
}

/** Encodes values as little-endian `dtype` elements (rounding to nearest even for F16/BF16). */
export function encodeTensor(dtype: SafetensorsDType, values: ArrayLike<number>): Uint8Array {
  if (!WRITABLE.has(dtype)) throw new SafetensorsError(`writing ${dtype} is not supported`);
  const out = new Uint8Array(values.length * ELEMENT_BYTES[dtype]);
  encodeInto(new DataView(out.buffer), 0, dtype, values);
  return out;
}

/** Serialises tensors (in name order) with optional string metadata. */
export function serializeSafetensors(tensors: Record<string, TensorRecord>, metadata?: Record<string, string>): Uint8Array {
  const specs = Object.create(null) as Record<string, TensorSpec>;
  for (const [name, rec] of Object.entries(tensors)) {
    const dtype = rec.dtype ?? defaultStored(rec.values);
    if (sizeOf(rec.shape) !== rec.values.length) throw new SafetensorsError(`tensor "${name}": ${rec.values.length} values for shape ${formatShape(rec.shape)}`);
    specs[name] = { dtype, shape: rec.shape };
  }
  const plan = planSafetensors(specs, metadata);
  const out = new Uint8Array(plan.byteLength);
  out.set(plan.header, 0);
  const view = new DataView(out.buffer);
  for (const { name, dtype, begin } of plan.order) encodeInto(view, plan.header.length + begin, dtype, tensors[name].values);
  return out;
}

function encodeInto(view: DataView, at: number, dtype: SafetensorsDType, values: ArrayLike<number>): void {
  const n = values.length;
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) view.setFloat32(at + i * 4, values[i], true);
      return;
    case 'F64':
      for (let i = 0; i < n; i++) view.setFloat64(at + i * 8, values[i], true);
      return;
    case 'F16':
      for (let i = 0; i < n; i++) view.setUint16(at + i * 2, floatToHalf(values[i]), true);
      return;
    case 'BF16':
      for (let i = 0; i < n; i++) view.setUint16(at + i * 2, floatToBf16(values[i]), true);
      return;
    case 'I32':
      for (let i = 0; i < n; i++) view.setInt32(at + i * 4, values[i], true);
      return;
    case 'I64':
      for (let i = 0; i < n; i++) view.setBigInt64(at + i * 8, BigInt(Math.trunc(values[i])), true);
      return;
    default:
      throw new SafetensorsError(`writing ${dtype} is not supported`);
  }
}

export interface SaveOptions {
  metadata?: Record<string, string>;
  /** Stored dtype of float tensors (default F32). */
  floatDType?: 'F32' | 'F16' | 'BF16' | 'F64';
}

/** Reads tensors back (async) and serialises them. */
export async function saveSafetensors(tensors: Record<string, Tensor>, opts?: SaveOptions): Promise<Uint8Array> {
  const records: Record<string, TensorRecord> = {};
  for (const [name, t] of Object.entries(tensors)) {
    const values = await t.data();
    const dtype: SafetensorsDType = t.dtype === 'int32' ? 'I32' : (opts?.floatDType ?? (t.dtype === 'float64' ? 'F64' : 'F32'));
    records[name] = { dtype, shape: t.shape, values };
  }
  return serializeSafetensors(records, opts?.metadata);
}

/** Loads every tensor (or the named ones) of a safetensors source onto a backend. */
export async function loadSafetensors(
  source: ByteSource | Uint8Array,
  opts?: { backend?: Backend; names?: readonly string[]; float64?: boolean },
): Promise<{ tensors: Record<string, Tensor>; metadata: Record<string, string> }> {
  const reader = await SafetensorsReader.open(source instanceof Uint8Array ? bytesSource(source) : source);
  const tensors = Object.create(null) as Record<string, Tensor>;
  try {
    for (const name of opts?.names ?? reader.names) tensors[name] = await reader.tensor(name, opts);
  } catch (err) {
    for (const t of Object.values(tensors)) t.dispose();
    throw err;
  }
  return { tensors, metadata: { ...reader.metadata } };
}

