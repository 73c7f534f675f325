import { CheckpointError } from './errors.js';
import type { ByteSource } from './safetensors.js';

/*
 * A read-only zip central-directory reader over a ByteSource, for PyTorch's checkpoint format.
 * Written here rather than taken from a library (fflate, jszip) because those inflate whole
 * archives held in memory, while a 1.5B bfloat16 checkpoint is ~3 GB: this reads the central
 * directory (a few KB) and then each entry's bytes on demand, by range, from a file handle or
 * a Blob. PyTorch stores every entry uncompressed (method 0), so only stored entries are read.
 *
 * Layout: [local header + data]... central directory, [zip64 end record, zip64 locator],
 * end-of-central-directory record (22 bytes + comment, at most 65 535 bytes).
 */

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const EOCD_MIN = 22;
const CENTRAL_MIN = 46;
const LOCAL_MIN = 30;
/** Central directories larger than this are refused (a 1000-shard archive needs well under 1 MB). */
export const MAX_CENTRAL_DIRECTORY_BYTES = 64 * 1024 * 1024;

export interface ZipEntry {
  readonly name: string;
  /** 0: stored. */
  readonly method: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly crc32: number;
  readonly localHeaderOffset: number;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function u64(v: DataView, at: number, label: string, what: string): number {
  const big = v.getBigUint64(at, true);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new CheckpointError(`${label}: ${what} ${big} is not a usable size`);
  return Number(big);
}

export class ZipArchive {
  readonly entries: ReadonlyMap<string, ZipEntry>;
  private readonly dataOffsets = new Map<string, number>();

  private constructor(
    readonly source: ByteSource,
    readonly label: string,
    entries: Map<string, ZipEntry>,
    private readonly centralOffset: number,
  ) {
    this.entries = entries;
  }

  static async open(source: ByteSource, label = 'zip'): Promise<ZipArchive> {
    const size = source.byteLength;
    if (size < EOCD_MIN) throw new CheckpointError(`${label}: ${size} bytes is too short for a zip archive (truncated?)`);
    const tailLen = Math.min(size, EOCD_MIN + 65535);
    const tail = await source.read(size - tailLen, tailLen);
    const tv = view(tail);
    let eocd = -1;
    for (let i = tail.length - EOCD_MIN; i >= 0; i--) {
      if (tv.getUint32(i, true) === SIG_EOCD && i + EOCD_MIN + tv.getUint16(i + 20, true) === tail.length) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new CheckpointError(`${label}: no zip end-of-central-directory record (not a zip file, or truncated)`);
    let count = tv.getUint16(eocd + 10, true);
    let cdSize = tv.getUint32(eocd + 12, true);
    let cdOffset = tv.getUint32(eocd + 16, true);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      ({ count, cdSize, cdOffset } = await readZip64End(source, size - tailLen + eocd, label));
    }
    const eocdPos = size - tailLen + eocd;
    if (cdOffset + cdSize > eocdPos) throw new CheckpointError(`${label}: the central directory (bytes ${cdOffset}..${cdOffset + cdSize}) runs past its end record at ${eocdPos} (truncated or corrupt)`);
    if (cdSize > MAX_CENTRAL_DIRECTORY_BYTES) throw new CheckpointError(`${label}: central directory of ${cdSize} bytes exceeds the ${MAX_CENTRAL_DIRECTORY_BYTES}-byte limit`);
    if (count * CENTRAL_MIN > cdSize) throw new CheckpointError(`${label}: ${count} entries cannot fit a ${cdSize}-byte central directory`);
    const cd = await source.read(cdOffset, cdSize);
    return new ZipArchive(source, label, parseCentral(cd, count, cdOffset, label), cdOffset);
  }

  /** The offset of an entry's data (read from its local header once). */
  private async dataOffset(e: ZipEntry): Promise<number> {
    const known = this.dataOffsets.get(e.name);
    if (known !== undefined) return known;
    const where = `${this.label}: entry "${e.name}"`;
    if (e.localHeaderOffset + LOCAL_MIN > this.centralOffset) throw new CheckpointError(`${where}: local header at ${e.localHeaderOffset} lies past the data area`);
    const h = await this.source.read(e.localHeaderOffset, LOCAL_MIN);
    const hv = view(h);
    if (h.length < LOCAL_MIN || hv.getUint32(0, true) !== SIG_LOCAL) throw new CheckpointError(`${where}: no local file header at offset ${e.localHeaderOffset} (corrupt archive)`);
    const start = e.localHeaderOffset + LOCAL_MIN + hv.getUint16(26, true) + hv.getUint16(28, true);
    if (start + e.compressedSize > this.centralOffset) {
      throw new CheckpointError(`${where}: data (bytes ${start}..${start + e.compressedSize}) runs into the central directory at ${this.centralOffset} (corrupt archive)`);
    }
    this.dataOffsets.set(e.name, start);
    return start;
  }

  entry(name: string): ZipEntry {
    const e = this.entries.get(name);
    if (!e) throw new CheckpointError(`${this.label}: no entry "${name}" in the archive`);
    return e;
  }

  /** Bytes [offset, offset + length) of a stored entry's data. */
  async readRange(name: string, offset: number, length: number): Promise<Uint8Array> {
    const e = this.entry(name);
    if (e.method !== 0) throw new CheckpointError(`${this.label}: entry "${name}" is compressed (method ${e.method}); PyTorch checkpoints store entries uncompressed`);
    if (offset < 0 || length < 0 || offset + length > e.size) throw new CheckpointError(`${this.label}: bytes ${offset}..${offset + length} lie outside entry "${name}" (${e.size} bytes)`);
    const start = await this.dataOffset(e);
    const bytes = await this.source.read(start + offset, length);
    if (bytes.length !== length) throw new CheckpointError(`${this.label}: entry "${name}" is truncated (read ${bytes.length} of ${length} bytes)`);
    return bytes;
  }

  /** A whole stored entry, its CRC-32 checked (for small records such as data.pkl). */
  async readEntry(name: string): Promise<Uint8Array> {
    const e = this.entry(name);
    const bytes = await this.readRange(name, 0, e.size);
    if (crc32(bytes) !== e.crc32) throw new CheckpointError(`${this.label}: entry "${name}" fails its CRC-32 check (corrupt archive)`);
    return bytes;
  }
}

async function readZip64End(source: ByteSource, eocdPos: number, label: string): Promise<{ count: number; cdSize: number; cdOffset: number }> {
  if (eocdPos < 20) throw new CheckpointError(`${label}: zip64 sizes but no zip64 locator (corrupt archive)`);
  const loc = view(await source.read(eocdPos - 20, 20));
  if (loc.getUint32(0, true) !== SIG_ZIP64_LOCATOR) throw new CheckpointError(`${label}: zip64 sizes but no zip64 locator (corrupt archive)`);
  const at = u64(loc, 8, label, 'zip64 end record offset');
  if (at + 56 > eocdPos - 20) throw new CheckpointError(`${label}: zip64 end record offset ${at} is out of range`);
  const rec = view(await source.read(at, 56));
  if (rec.getUint32(0, true) !== SIG_ZIP64_EOCD) throw new CheckpointError(`${label}: no zip64 end record at offset ${at} (corrupt archive)`);
  return { count: u64(rec, 32, label, 'entry count'), cdSize: u64(rec, 40, label, 'central directory size'), cdOffset: u64(rec, 48, label, 'central directory offset') };
}

function parseCentral(cd: Uint8Array, count: number, cdOffset: number, label: string): Map<string, ZipEntry> {
  const v = view(cd);
  const entries = new Map<string, ZipEntry>();
  const utf8 = new TextDecoder('utf-8', { fatal: false });
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + CENTRAL_MIN > cd.length || v.getUint32(p, true) !== SIG_CENTRAL) throw new CheckpointError(`${label}: central directory entry ${i} is malformed (corrupt archive)`);
    const flags = v.getUint16(p + 8, true);
    const method = v.getUint16(p + 10, true);
    const crc = v.getUint32(p + 16, true);
    let compressedSize = v.getUint32(p + 20, true);
    let size = v.getUint32(p + 24, true);
    const nameLen = v.getUint16(p + 28, true);
    const extraLen = v.getUint16(p + 30, true);
    const commentLen = v.getUint16(p + 32, true);
    let localHeaderOffset = v.getUint32(p + 42, true);
    const end = p + CENTRAL_MIN + nameLen + extraLen + commentLen;
    if (end > cd.length) throw new CheckpointError(`${label}: central directory entry ${i} runs past the directory (corrupt archive)`);
    const name = utf8.decode(cd.subarray(p + CENTRAL_MIN, p + CENTRAL_MIN + nameLen));
    if (flags & 1) throw new CheckpointError(`${label}: entry "${name}" is encrypted`);
    // Zip64 extended information: the 8-byte values present are those whose 4-byte field is 0xffffffff, in this order.
    let q = p + CENTRAL_MIN + nameLen;
    const extraEnd = q + extraLen;
    while (q + 4 <= extraEnd) {
      const id = v.getUint16(q, true);
      const len = v.getUint16(q + 2, true);
      if (q + 4 + len > extraEnd) break;
      if (id === 1) {
        let r = q + 4;
        const take = (): number => {
          if (r + 8 > q + 4 + len) throw new CheckpointError(`${label}: entry "${name}": zip64 extra field too short`);
          const n = u64(v, r, label, `entry "${name}" size`);
          r += 8;
          return n;
        };
        if (size === 0xffffffff) size = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
      }
      q += 4 + len;
    }
    if (method === 0 && compressedSize !== size) throw new CheckpointError(`${label}: stored entry "${name}" has compressed size ${compressedSize} but size ${size}`);
    if (localHeaderOffset >= cdOffset) throw new CheckpointError(`${label}: entry "${name}" starts at ${localHeaderOffset}, past the data area`);
    if (entries.has(name)) throw new CheckpointError(`${label}: entry "${name}" appears twice`);
    entries.set(name, { name, method, compressedSize, size, crc32: crc, localHeaderOffset });
    p = end;
  }
  return entries;
}

let CRC_TABLE: Uint32Array | null = null;

export function crc32(bytes: Uint8Array): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
