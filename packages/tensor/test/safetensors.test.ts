import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  floatToBf16,
  floatToHalf,
  halfToFloat,
  loadSafetensors,
  SafetensorsError,
  SafetensorsReader,
  saveSafetensors,
  serializeSafetensors,
  tensor,
  tidy,
} from '../src/index.js';
import { openSafetensors, writeSafetensorsFile } from '../src/node.js';
import { useReference } from './setup.js';

const fixture = new URL('../fixtures/mixer_siso.safetensors', import.meta.url);

/** A raw file from a header object and a data length. */
function rawFile(header: unknown, dataBytes: number, headerLenOverride?: number): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLenOverride ?? json.length), true);
  out.set(json, 8);
  return out;
}

describe('safetensors', () => {
  it('round-trips every writable dtype with metadata', async () => {
    const bytes = serializeSafetensors(
      {
        f32: { shape: [2, 2], values: new Float32Array([1.5, -2, 3e-8, 65504]) },
        f64: { shape: [2], values: new Float64Array([Math.PI, -1e300]) },
        f16: { dtype: 'F16', shape: [3], values: [1, -0.5, 65504] },
        bf16: { dtype: 'BF16', shape: [2], values: [1, -3.5] },
        i32: { shape: [3], values: new Int32Array([1, -2, 2147483647]) },
        i64: { dtype: 'I64', shape: [2], values: [-5, 7] },
        empty: { shape: [0, 4], values: new Float32Array(0) },
      },
      { config: '{"d_model": 64}' },
    );
    const r = await SafetensorsReader.fromBytes(bytes);
    expect(r.metadata).toEqual({ config: '{"d_model": 64}' });
    expect(r.names.sort()).toEqual(['bf16', 'empty', 'f16', 'f32', 'f64', 'i32', 'i64']);
    expect(Array.from((await r.read('f32')).values)).toEqual(Array.from(new Float32Array([1.5, -2, 3e-8, 65504])));
    expect(Array.from((await r.read('f64', { float64: true })).values)).toEqual([Math.PI, -1e300]);
    expect(Array.from((await r.read('f16')).values)).toEqual([1, -0.5, 65504]);
    expect(Array.from((await r.read('bf16')).values)).toEqual([1, -3.5]);
    expect((await r.read('i64')).dtype).toBe('int32');
    expect(Array.from((await r.read('i64')).values)).toEqual([-5, 7]);
    expect((await r.read('empty')).shape).toEqual([0, 4]);
    // The data starts 8-byte aligned.
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
  });

  it('tensors named like Object members round-trip; such a dtype is refused', async () => {
    const names = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
    const specs = Object.create(null) as Record<string, { shape: number[]; values: Float32Array }>;
    names.forEach((n, i) => (specs[n] = { shape: [2], values: new Float32Array([i, -i]) }));
    const r = await SafetensorsReader.fromBytes(serializeSafetensors(specs));
    expect(r.names.sort()).toEqual([...names].sort());
    for (const [i, n] of names.entries()) expect(Array.from((await r.read(n)).values), n).toEqual([i, -i]);
    for (const dtype of ['toString', 'constructor', '__proto__']) {
      await expect(SafetensorsReader.fromBytes(rawFile({ w: { dtype, shape: [1], data_offsets: [0, 4] } }, 4), 'x.safetensors')).rejects.toThrow(
        `x.safetensors: tensor "w": unsupported dtype "${dtype}"`,
      );
    }
  });

  it('converts half and bfloat16 with round-to-nearest-even', () => {
    expect(halfToFloat(floatToHalf(1 / 3))).toBeCloseTo(0.33325, 5);
    expect(floatToHalf(1e6)).toBe(0x7c00);
    expect(floatToHalf(-0)).toBe(0x8000);
    expect(halfToFloat(floatToHalf(6e-8))).toBeCloseTo(5.96e-8, 9);
    expect(Number.isNaN(halfToFloat(floatToHalf(Number.NaN)))).toBe(true);
    // 1 + 2^-8 is halfway between two bfloat16 values: ties go to the even mantissa (1.0).
    expect(floatToBf16(1 + 2 ** -8)).toBe(0x3f80);
    expect(floatToBf16(1 + 3 * 2 ** -8)).toBe(0x3f82);
  });

  it('reads the official golden fixture (lazily, from a file)', async () => {
    const r = await openSafetensors(fixture.pathname);
    try {
      expect(JSON.parse(r.metadata.config).d_model).toBe(64);
      expect(r.entry('in_proj.weight').shape).toEqual([352, 64]);
      const { values, dtype } = await r.read('D');
      expect(dtype).toBe('float32');
      expect(values.length).toBe(8);
      expect(r.entry('expected.state.ssm').shape).toEqual([2, 8, 16, 32]);
    } finally {
      await r.close();
    }
    useReference();
    const { tensors, metadata } = await loadSafetensors(readFileSync(fixture), { names: ['dt_bias'] });
    expect(metadata.kind).toBe('mixer');
    expect(tensors.dt_bias.shape).toEqual([8]);
    tensors.dt_bias.dispose();
  });

  it('saves tensors and loads them back onto a backend', async () => {
    useReference();
    const dir = mkdtempSync(join(tmpdir(), 'st-'));
    const path = join(dir, 'w.safetensors');
    const ts = tidy(() => ({ w: tensor([1, 2, 3, 4], [2, 2]), ids: tensor([7, 8], [2], { dtype: 'int32' }) }));
    await writeSafetensorsFile(path, ts, { metadata: { a: 'b' }, floatDType: 'BF16' });
    const back = await loadSafetensors(readFileSync(path));
    expect(back.tensors.w.shape).toEqual([2, 2]);
    expect(Array.from(back.tensors.w.dataSync())).toEqual([1, 2, 3, 4]);
    expect(back.tensors.ids.dtype).toBe('int32');
    expect(Array.from(await saveSafetensors({}))).toEqual(Array.from(serializeSafetensors({})));
    for (const t of [...Object.values(ts), ...Object.values(back.tensors)]) t.dispose();
  });

  describe('refuses corrupt files with a clear error', () => {
    const ok = { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
    const cases: [string, Uint8Array, RegExp][] = [
      ['too short', new Uint8Array(4), /too short/],
      ['header past the end', rawFile(ok, 8, 10_000), /runs past the end/],
      ['huge header length', rawFile(ok, 8, 2 ** 40), /exceeds/],
      ['not JSON', rawFile('{"a": ', 0), /not valid UTF-8 JSON/],
      ['not an object', rawFile('[1,2]', 0), /must be a JSON object/],
      ['unknown dtype', rawFile({ a: { dtype: 'F8', shape: [1], data_offsets: [0, 1] } }, 1), /unsupported dtype "F8"/],
      ['bad shape', rawFile({ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /shape/],
      ['offsets past the data', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, 4), /run past the data/],
      ['size does not match shape', rawFile({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /8 bytes for F32 \[3\], expected 12/],
      ['overlap', rawFile({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /overlaps/],
      ['hole', rawFile({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /belong to no tensor/],
      ['trailing bytes', rawFile(ok, 12), /last 4 bytes/],
      ['bad metadata', rawFile({ __metadata__: { n: 1 }, ...ok }, 8), /__metadata__\["n"\] must be a string/],
      ['reversed offsets', rawFile({ a: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, 4), /begin <= end/],
    ];
    for (const [name, bytes, message] of cases) {
      it(name, async () => {
        await expect(SafetensorsReader.fromBytes(bytes)).rejects.toThrow(SafetensorsError);
        await expect(SafetensorsReader.fromBytes(bytes)).rejects.toThrow(message);
      });
    }
    it('an I64 value that does not fit int32', async () => {
      const r = await SafetensorsReader.fromBytes(serializeSafetensors({ big: { dtype: 'I64', shape: [1], values: [2 ** 40] } }));
      await expect(r.read('big')).rejects.toThrow(/does not fit int32/);
    });
    it('a missing tensor name', async () => {
      const r = await SafetensorsReader.fromBytes(serializeSafetensors({ a: { shape: [1], values: [1] } }));
      await expect(r.read('b')).rejects.toThrow(/no tensor named "b"/);
    });
  });

  it('writes files other tools can read (header layout)', () => {
    const bytes = serializeSafetensors({ x: { shape: [1], values: [2] } });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header).toEqual({ x: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } });
    writeFileSync(join(mkdtempSync(join(tmpdir(), 'st-')), 'x.safetensors'), bytes);
  });
});
