import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import type { PickleValue } from '../src/index.js';
import { CheckpointError, encodeTensor, loadPickle, Mamba3Error, SafetensorsReader, serializeTorchCheckpoint, TorchCheckpointReader, UnsafePickleError } from '../src/index.js';
import { f32Bytes, Pickler, torchZip, writeZip } from './torch-zip-writer.js';

const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../fixtures/torch/${name}`, import.meta.url)));

/** A valid one-storage archive: "w" is a 2×3 view at offset 2, "t" its transpose, "tied" the same view as "w". */
function smallArchive(): { bytes: Uint8Array; storage: number[] } {
  const storage = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const pkl = new Pickler()
    .op('}')
    .op('(')
    .str('w')
    .tensor('FloatStorage', '0', 10, 2, [2, 3], [3, 1])
    .str('t')
    .tensor('FloatStorage', '0', 10, 2, [3, 2], [1, 3])
    .str('tied')
    .tensor('FloatStorage', '0', 10, 2, [2, 3], [3, 1])
    .op('u')
    .done();
  return { bytes: torchZip(pkl, { '0': f32Bytes(storage) }), storage };
}

describe('TorchCheckpointReader on real checkpoints (official save_pretrained)', () => {
  for (const name of ['mamba1_tied_f32', 'mamba3_bf16']) {
    it(`${name}: every tensor equals an independent reading (Python zipfile + pickle + numpy)`, async () => {
      const reader = await TorchCheckpointReader.fromBytes(fixture(`${name}.bin`), name);
      const ref = await SafetensorsReader.fromBytes(fixture(`${name}.reference.safetensors`));
      expect(reader.names.sort()).toEqual(ref.names.sort());
      for (const n of ref.names) {
        const got = await reader.read(n);
        const want = await ref.read(n);
        expect(got.shape, n).toEqual(want.shape);
        expect(got.values, n).toEqual(want.values);
      }
    });
  }

  it('reports stored dtypes and tied weights', async () => {
    const bf16 = await TorchCheckpointReader.fromBytes(fixture('mamba3_bf16.bin'));
    expect(bf16.entry('backbone.embedding.weight').dtype).toBe('BF16');
    expect(bf16.entry('backbone.embedding.weight').shape).toEqual([256, 64]);
    const f32 = await TorchCheckpointReader.fromBytes(fixture('mamba1_tied_f32.bin'));
    expect(f32.entry('backbone.layers.0.mixer.A_log').dtype).toBe('F32');
    expect(f32.aliasesOf('lm_head.weight')).toEqual(['backbone.embedding.weight']);
  });
});

describe('TorchCheckpointReader: views and shared storages', () => {
  it('reads offsets, strides and a shared storage', async () => {
    const { bytes } = smallArchive();
    const r = await TorchCheckpointReader.fromBytes(bytes);
    expect(Array.from((await r.read('w')).values)).toEqual([2, 3, 4, 5, 6, 7]);
    expect(Array.from((await r.read('t')).values)).toEqual([2, 5, 3, 6, 4, 7]);
    expect(r.aliasesOf('w')).toEqual(['tied']);
    expect(r.aliasesOf('t')).toEqual([]);
  });
});

describe('TorchCheckpointReader refuses unsafe pickles before anything runs', () => {
  const forbidden: [string, string][] = [
    ['os', 'system'],
    ['posix', 'system'],
    ['nt', 'system'],
    ['builtins', 'eval'],
    ['builtins', 'exec'],
    ['builtins', 'getattr'],
    ['__builtin__', 'eval'],
    ['subprocess', 'Popen'],
    ['torch', 'load'],
    ['torch._utils', '_rebuild_tensor'],
    ['collections', 'defaultdict'],
  ];
  for (const [module, name] of forbidden) {
    it(`refuses ${module}.${name} (GLOBAL and STACK_GLOBAL), with no storage touched`, async () => {
      const viaGlobal = new Pickler().global(module, name).str('echo pwned').op(0x85).op('R').done();
      const viaStack = new Pickler().op(0x8c).raw(module.length, ...new TextEncoder().encode(module)).op(0x8c).raw(name.length, ...new TextEncoder().encode(name)).op(0x93).str('x').op(0x85).op('R').done();
      for (const pkl of [viaGlobal, viaStack]) {
        const persistentLoad = vi.fn();
        expect(() => loadPickle(pkl, { globals: {}, persistentLoad })).toThrow(UnsafePickleError);
        await expect(TorchCheckpointReader.fromBytes(torchZip(pkl, {}))).rejects.toThrow(new RegExp(`refuses global "${module}\\.${name}"`));
        expect(persistentLoad).not.toHaveBeenCalled();
      }
    });
  }

  it('stops at the forbidden global even when valid tensors follow it', async () => {
    const handler = vi.fn((): PickleValue => null);
    const pkl = new Pickler().op('}').global('os', 'system').op('0').global('ok', 'fn').op(')').op('R').done();
    expect(() => loadPickle(pkl, { globals: { 'ok.fn': handler } })).toThrow(UnsafePickleError);
    expect(handler).not.toHaveBeenCalled();
  });

  it('refuses REDUCE on anything but an allow-listed callable', async () => {
    const cases = [
      new Pickler().global('torch', 'FloatStorage').op(')').op('R').done(), // allowed as a value, not callable
      new Pickler().str('os.system').op(')').op('R').done(),
      new Pickler().op('}').op(')').op('R').done(),
    ];
    for (const pkl of cases) await expect(TorchCheckpointReader.fromBytes(torchZip(pkl, {}))).rejects.toThrow(UnsafePickleError);
  });

  it('refuses object-building opcodes (INST, OBJ, NEWOBJ, EXT1)', () => {
    for (const op of [0x69, 0x6f, 0x81, 0x92, 0x82]) {
      const pkl = new Pickler().op('(').op(op).done();
      expect(() => loadPickle(pkl, { globals: {} })).toThrow(UnsafePickleError);
    }
  });

  it('refuses BUILD on a tensor or a global', () => {
    const pkl = new Pickler().global('collections', 'OrderedDict').op('}').op('b').done();
    expect(() => loadPickle(pkl, { globals: { 'collections.OrderedDict': null } })).toThrow(UnsafePickleError);
  });
});

describe('TorchCheckpointReader: damaged archives give typed errors', () => {
  it('every truncation of a real checkpoint is a CheckpointError', async () => {
    const bytes = fixture('mamba1_tied_f32.bin');
    for (const len of [0, 10, 21, 100, 4096, bytes.length >> 1, bytes.length - 23, bytes.length - 1]) {
      await expect(TorchCheckpointReader.fromBytes(bytes.subarray(0, len)), `length ${len}`).rejects.toThrow(CheckpointError);
    }
  });

  it('a view past its storage, a wrong storage size, a missing storage, conflicting storage types', async () => {
    const one = (p: Pickler) => p.op('}').op('(').str('w');
    const bad: [Uint8Array, RegExp][] = [
      [torchZip(one(new Pickler()).tensor('FloatStorage', '0', 4, 2, [2, 2], [2, 1]).op('u').done(), { '0': f32Bytes([1, 2, 3, 4]) }), /reaches element 5 of storage "0", which holds 4/],
      [torchZip(one(new Pickler()).tensor('FloatStorage', '0', 4, 0, [4], [1]).op('u').done(), { '0': f32Bytes([1, 2, 3]) }), /should hold 4 F32 \(16 bytes\) but its entry has 12 bytes/],
      [torchZip(one(new Pickler()).tensor('FloatStorage', '7', 4, 0, [4], [1]).op('u').done(), {}), /storage "7" has no entry/],
      [torchZip(one(new Pickler()).tensor('FloatStorage', '0', 1, 0, [1000000], [0]).op('u').done(), { '0': f32Bytes([1]) }), /more elements than its storage/],
      [
        torchZip(one(new Pickler()).tensor('FloatStorage', '0', 2, 0, [2], [1]).str('v').tensor('HalfStorage', '0', 4, 0, [4], [1]).op('u').done(), { '0': f32Bytes([1, 2]) }),
        /storage "0" is named as 2 F32 and as 4 F16/,
      ],
      [writeZip([['a/b.txt', new Uint8Array(3)]]), /expected one "<name>\/data\.pkl"/],
    ];
    for (const [bytes, message] of bad) await expect(TorchCheckpointReader.fromBytes(bytes)).rejects.toThrow(message);
  });
});

/** Opens and reads everything; any failure must be one of ours. */
async function openAndReadAll(bytes: Uint8Array): Promise<void> {
  try {
    const r = await TorchCheckpointReader.fromBytes(bytes);
    for (const n of r.names) await r.read(n);
  } catch (err) {
    if (!(err instanceof Mamba3Error)) throw err;
  }
}

describe('TorchCheckpointReader fuzz (typed error or a valid result, never a crash)', () => {
  it('random byte mutations of a small valid archive', async () => {
    const { bytes } = smallArchive();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.nat(bytes.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }), async (edits) => {
        const m = bytes.slice();
        for (const [at, v] of edits) m[at] = v;
        await openAndReadAll(m);
      }),
      { numRuns: 400, seed: 15 },
    );
  });

  it('random mutations of the pickle alone (CRC bypassed)', () => {
    const base = new Pickler().op('}').op('(').str('w').tensor('FloatStorage', '0', 10, 2, [2, 3], [3, 1]).op('u').done();
    const storage = { kind: 'storage' };
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.nat(base.length), (edits, cut) => {
        const m = base.slice(0, Math.max(cut, 1));
        for (const [at, v] of edits) if (at < m.length) m[at] = v;
        try {
          loadPickle(m, { globals: { 'torch._utils._rebuild_tensor_v2': () => null, 'collections.OrderedDict': () => null, 'torch.FloatStorage': null }, persistentLoad: () => storage as unknown as PickleValue });
        } catch (err) {
          if (!(err instanceof Mamba3Error)) throw err;
        }
      }),
      { numRuns: 2000, seed: 15 },
    );
  });
});

describe('openTensorFile', () => {
  it('tells a PyTorch zip from safetensors by content', async () => {
    const { openTensorFile, bytesSource } = await import('../src/index.js');
    const bin = await openTensorFile(bytesSource(fixture('mamba3_bf16.bin')));
    expect(bin).toBeInstanceOf(TorchCheckpointReader);
    const st = await openTensorFile(bytesSource(fixture('mamba3_bf16.reference.safetensors')));
    expect(st).toBeInstanceOf(SafetensorsReader);
    expect((await st.read('backbone.norm_f.weight')).values).toEqual((await bin.read('backbone.norm_f.weight')).values);
  });
});

describe('writeTorchCheckpoint (torch.save format)', () => {
  const tensors = {
    'a.weight': { dtype: 'F32' as const, shape: [3, 2], values: [1, -2, 3.5, 4, 5, 6] },
    'b.bf16': { dtype: 'BF16' as const, shape: [4], values: [1, -0.5, 3, 1e-3] },
    'c.f16': { dtype: 'F16' as const, shape: [2, 1, 2], values: [0.25, 2, -8, 65504] },
    'd.ids': { dtype: 'I64' as const, shape: [2], values: [7, -9] },
    'e.scalar': { dtype: 'F32' as const, shape: [], values: [42] },
  };
  const withBytes = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, { ...t, bytes: encodeTensor(t.dtype, t.values) }]));

  for (const zip64 of [false, true]) {
    it(`round-trips every dtype through TorchCheckpointReader${zip64 ? ' (zip64 records)' : ''}`, async () => {
      const bytes = await serializeTorchCheckpoint(withBytes, { zip64 });
      const r = await TorchCheckpointReader.fromBytes(bytes);
      expect(r.names).toEqual(Object.keys(tensors));
      for (const [name, t] of Object.entries(withBytes)) {
        expect(r.entry(name).dtype).toBe(t.dtype);
        expect(r.entry(name).shape).toEqual(t.shape);
        expect(await r.readBytes(name)).toEqual(t.bytes);
      }
    });
  }
});
