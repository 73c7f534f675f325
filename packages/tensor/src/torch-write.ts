import { CheckpointError } from './errors.js';
import type { SafetensorsDType } from './safetensors.js';
import { ELEMENT_BYTES } from './safetensors.js';
import { sizeOf } from './shape.js';
import { TORCH_STORAGE_DTYPES } from './torch-bin.js';
import { crc32 } from './zip.js';

/*
 * Writes PyTorch's checkpoint format as torch.save does (protocol-2 pickle of an OrderedDict of
 * `_rebuild_tensor_v2` calls, one storage per tensor under `<archive>/data/<key>`, entries stored
 * and 64-byte aligned, zip64 records when the archive passes 4 GiB): what the official
 * `MambaLMHeadModel.from_pretrained` (torch.load) reads. Data goes to a positional sink one
 * tensor at a time, so multi-GB checkpoints need not sit in memory.
 */

export interface TorchTensorSpec {
  dtype: SafetensorsDType;
  shape: readonly number[];
}

/** Writes `bytes` at byte `at` of the output. */
export type ByteSink = (bytes: Uint8Array, at: number) => Promise<void>;

const STORAGE_OF: Partial<Record<SafetensorsDType, string>> = Object.fromEntries(Object.entries(TORCH_STORAGE_DTYPES).map(([k, v]) => [v, k]));
const enc = new TextEncoder();
const ALIGN = 64;
const U32 = 0xffffffff;

class PickleWriter {
  private out: number[] = [0x80, 2];
  op(...b: number[]): this {
    for (const x of b) this.out.push(x);
    return this;
  }
  str(s: string): this {
    const b = enc.encode(s);
    this.op(0x58, b.length & 0xff, (b.length >>> 8) & 0xff, (b.length >>> 16) & 0xff, b.length >>> 24);
    for (const x of b) this.out.push(x);
    return this;
  }
  global(module: string, name: string): this {
    this.op(0x63);
    for (const x of enc.encode(`${module}\n${name}\n`)) this.out.push(x);
    return this;
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.op(0x4b, n);
    if (n >= -0x80000000 && n <= 0x7fffffff) return this.op(0x4a, n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
    // LONG1: 8-byte little-endian two's complement.
    const b: number[] = [];
    let v = BigInt(n);
    for (let i = 0; i < 8; i++) {
      b.push(Number(v & 0xffn));
      v >>= 8n;
    }
    return this.op(0x8a, 8, ...b);
  }
  tuple(items: readonly number[]): this {
    this.op(0x28);
    for (const i of items) this.int(i);
    return this.op(0x74);
  }
  bytes(): Uint8Array {
    return new Uint8Array([...this.out, 0x2e]);
  }
}

function contiguousStrides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    s[d] = acc;
    acc *= shape[d];
  }
  return s;
}

/** The data.pkl of a state_dict whose tensor i (in `names` order) owns storage key `i`. */
export function torchStateDictPickle(specs: Record<string, TorchTensorSpec>, names: readonly string[]): Uint8Array {
  const p = new PickleWriter().global('collections', 'OrderedDict').op(0x29, 0x52).op(0x28);
  names.forEach((name, key) => {
    const { dtype, shape } = specs[name];
    const storage = STORAGE_OF[dtype];
    if (!storage) throw new CheckpointError(`tensor "${name}": no torch storage for ${dtype}`);
    p.str(name).global('torch._utils', '_rebuild_tensor_v2').op(0x28);
    p.op(0x28).str('storage').global('torch', storage).str(String(key)).str('cpu').int(sizeOf(shape)).op(0x74, 0x51);
    p.int(0).tuple(shape).tuple(contiguousStrides(shape)).op(0x89);
    p.global('collections', 'OrderedDict').op(0x29, 0x52).op(0x74, 0x52);
  });
  return p.op(0x75).bytes();
}

interface Written {
  name: Uint8Array;
  size: number;
  crc: number;
  offset: number;
}

/**
 * Writes a torch checkpoint: `bytesOf(name)` gives each tensor's little-endian bytes (contiguous,
 * in its dtype). Returns the archive's length.
 */
export async function writeTorchCheckpoint(
  specs: Record<string, TorchTensorSpec>,
  bytesOf: (name: string) => Promise<Uint8Array>,
  sink: ByteSink,
  opts: { archive?: string; zip64?: boolean } = {},
): Promise<number> {
  const archive = opts.archive ?? 'pytorch_model';
  const names = Object.keys(specs);
  const written: Written[] = [];
  let at = 0;
  const add = async (name: string, data: Uint8Array): Promise<void> => {
    const nameBytes = enc.encode(`${archive}/${name}`);
    const zip64 = opts.zip64 === true || at + data.length + 30 + nameBytes.length + 2 * ALIGN >= U32;
    const fixed = 30 + nameBytes.length + (zip64 ? 20 : 0);
    // An extra field of padding ('FB', as PyTorch writes) puts the data on a 64-byte boundary.
    const pad = (ALIGN - ((at + fixed + 4) % ALIGN)) % ALIGN;
    const local = new Uint8Array(fixed + 4 + pad);
    const v = new DataView(local.buffer);
    const crc = crc32(data);
    v.setUint32(0, 0x04034b50, true);
    v.setUint16(4, zip64 ? 45 : 20, true);
    v.setUint32(14, crc, true);
    v.setUint32(18, zip64 ? U32 : data.length, true);
    v.setUint32(22, zip64 ? U32 : data.length, true);
    v.setUint16(26, nameBytes.length, true);
    v.setUint16(28, local.length - 30 - nameBytes.length, true);
    local.set(nameBytes, 30);
    let q = 30 + nameBytes.length;
    if (zip64) {
      v.setUint16(q, 1, true);
      v.setUint16(q + 2, 16, true);
      v.setBigUint64(q + 4, BigInt(data.length), true);
      v.setBigUint64(q + 12, BigInt(data.length), true);
      q += 20;
    }
    v.setUint16(q, 0x4246, true);
    v.setUint16(q + 2, pad, true);
    await sink(local, at);
    await sink(data, at + local.length);
    written.push({ name: nameBytes, size: data.length, crc, offset: at });
    at += local.length + data.length;
  };
  await add('data.pkl', torchStateDictPickle(specs, names));
  await add('byteorder', enc.encode('little'));
  for (const [key, name] of names.entries()) {
    const { dtype, shape } = specs[name];
    const data = await bytesOf(name);
    if (data.length !== sizeOf(shape) * ELEMENT_BYTES[dtype]) throw new CheckpointError(`tensor "${name}": ${data.length} bytes for ${dtype} [${shape.join(', ')}]`);
    await add(`data/${key}`, data);
  }
  await add('version', enc.encode('3\n'));
  return at + (await writeCentral(written, at, sink, opts.zip64 === true));
}

async function writeCentral(entries: Written[], start: number, sink: ByteSink, force64: boolean): Promise<number> {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const big = force64 || e.offset >= U32 || e.size >= U32;
    const c = new Uint8Array(46 + e.name.length + (big ? 28 : 0));
    const v = new DataView(c.buffer);
    v.setUint32(0, 0x02014b50, true);
    v.setUint16(4, 45, true);
    v.setUint16(6, big ? 45 : 20, true);
    v.setUint32(16, e.crc, true);
    v.setUint32(20, big ? U32 : e.size, true);
    v.setUint32(24, big ? U32 : e.size, true);
    v.setUint16(28, e.name.length, true);
    v.setUint16(30, big ? 28 : 0, true);
    v.setUint32(42, big ? U32 : e.offset, true);
    c.set(e.name, 46);
    if (big) {
      const q = 46 + e.name.length;
      v.setUint16(q, 1, true);
      v.setUint16(q + 2, 24, true);
      v.setBigUint64(q + 4, BigInt(e.size), true);
      v.setBigUint64(q + 12, BigInt(e.size), true);
      v.setBigUint64(q + 20, BigInt(e.offset), true);
    }
    parts.push(c);
  }
  const cdSize = parts.reduce((n, p) => n + p.length, 0);
  const need64 = force64 || start + cdSize >= U32 || entries.length >= 0xffff;
  const tail = new Uint8Array((need64 ? 56 + 20 : 0) + 22);
  const t = new DataView(tail.buffer);
  let q = 0;
  if (need64) {
    t.setUint32(0, 0x06064b50, true);
    t.setBigUint64(4, 44n, true);
    t.setUint16(12, 45, true);
    t.setUint16(14, 45, true);
    t.setBigUint64(24, BigInt(entries.length), true);
    t.setBigUint64(32, BigInt(entries.length), true);
    t.setBigUint64(40, BigInt(cdSize), true);
    t.setBigUint64(48, BigInt(start), true);
    t.setUint32(56, 0x07064b50, true);
    t.setBigUint64(64, BigInt(start + cdSize), true);
    t.setUint32(72, 1, true);
    q = 76;
  }
  t.setUint32(q, 0x06054b50, true);
  t.setUint16(q + 8, need64 ? 0xffff : entries.length, true);
  t.setUint16(q + 10, need64 ? 0xffff : entries.length, true);
  t.setUint32(q + 12, need64 ? U32 : cdSize, true);
  t.setUint32(q + 16, need64 ? U32 : start, true);
  let at = start;
  for (const p of parts) {
    await sink(p, at);
    at += p.length;
  }
  await sink(tail, at);
  return cdSize + tail.length;
}

/** The whole checkpoint in memory (small models, tests). */
export async function serializeTorchCheckpoint(
  tensors: Record<string, TorchTensorSpec & { bytes: Uint8Array }>,
  opts?: { archive?: string; zip64?: boolean },
): Promise<Uint8Array> {
  const chunks: [Uint8Array, number][] = [];
  const length = await writeTorchCheckpoint(tensors, async (n) => tensors[n].bytes, async (b, at) => void chunks.push([b.slice(), at]), opts);
  const out = new Uint8Array(length);
  for (const [b, at] of chunks) out.set(b, at);
  return out;
}
