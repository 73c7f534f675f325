import { crc32 } from '../src/zip.js';

/** A minimal stored-only zip writer and pickle assembler, to build test archives by hand. */

const enc = new TextEncoder();

export function writeZip(files: [string, Uint8Array][], opts?: { align?: number }): Uint8Array {
  const parts: Uint8Array[] = [];
  const central: Uint8Array[] = [];
  let offset = 0;
  for (const [name, data] of files) {
    const nameBytes = enc.encode(name);
    // Pad data to `align` bytes with an extra field, as PyTorch does (64).
    const align = opts?.align ?? 1;
    const base = offset + 30 + nameBytes.length;
    let pad = (align - (base % align)) % align;
    if (pad > 0 && pad < 4) pad += align;
    const local = new Uint8Array(30 + nameBytes.length + pad);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint32(14, crc32(data), true);
    lv.setUint32(18, data.length, true);
    lv.setUint32(22, data.length, true);
    lv.setUint16(26, nameBytes.length, true);
    lv.setUint16(28, pad, true);
    local.set(nameBytes, 30);
    if (pad) {
      lv.setUint16(30 + nameBytes.length, 0x4246, true);
      lv.setUint16(32 + nameBytes.length, pad - 4, true);
    }
    const c = new Uint8Array(46 + nameBytes.length);
    const cv = new DataView(c.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint32(16, crc32(data), true);
    cv.setUint32(20, data.length, true);
    cv.setUint32(24, data.length, true);
    cv.setUint16(28, nameBytes.length, true);
    cv.setUint32(42, offset, true);
    c.set(nameBytes, 46);
    central.push(c);
    parts.push(local, data);
    offset += local.length + data.length;
  }
  const cdSize = central.reduce((n, c) => n + c.length, 0);
  const eocd = new Uint8Array(22);
  const ev = new DataView(eocd.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, files.length, true);
  ev.setUint16(10, files.length, true);
  ev.setUint32(12, cdSize, true);
  ev.setUint32(16, offset, true);
  const all = [...parts, ...central, eocd];
  const out = new Uint8Array(all.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of all) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Pickle assembler: strings are opcodes' text, numbers raw bytes. */
export class Pickler {
  private bytes: number[] = [0x80, 2];
  op(code: number | string): this {
    this.bytes.push(typeof code === 'string' ? code.charCodeAt(0) : code);
    return this;
  }
  raw(...b: number[]): this {
    this.bytes.push(...b);
    return this;
  }
  global(module: string, name: string): this {
    return this.op('c').raw(...enc.encode(`${module}\n${name}\n`));
  }
  str(s: string): this {
    const b = enc.encode(s);
    return this.op('X').raw(b.length & 0xff, (b.length >> 8) & 0xff, 0, 0, ...b);
  }
  int(n: number): this {
    return this.op('J').raw(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff);
  }
  tuple(...ints: number[]): this {
    this.op('(');
    for (const i of ints) this.int(i);
    return this.op('t');
  }
  /** _rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride, False, OrderedDict()) */
  tensor(type: string, key: string, numel: number, offset: number, size: number[], stride: number[]): this {
    this.global('torch._utils', '_rebuild_tensor_v2').op('(');
    this.op('(').str('storage').global('torch', type).str(key).str('cpu').int(numel).op('t').op('Q');
    this.int(offset).tuple(...size).tuple(...stride).op(0x89);
    this.global('collections', 'OrderedDict').op(')').op('R');
    return this.op('t').op('R');
  }
  done(): Uint8Array {
    return new Uint8Array([...this.bytes, 0x2e]);
  }
}

export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

/** A torch checkpoint archive: `archive/data.pkl` + `archive/data/<key>` + byteorder. */
export function torchZip(pkl: Uint8Array, storages: Record<string, Uint8Array>, archive = 'archive'): Uint8Array {
  return writeZip(
    [[`${archive}/data.pkl`, pkl], [`${archive}/byteorder`, enc.encode('little')], ...Object.entries(storages).map(([k, v]) => [`${archive}/data/${k}`, v] as [string, Uint8Array])],
    { align: 64 },
  );
}
