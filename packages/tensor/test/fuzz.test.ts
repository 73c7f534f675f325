/**
 * Property-based fuzzing of the safetensors reader: random mutations of valid files (flipped
 * bytes, truncation, a rewritten header length, a header whose entries are edited) must give a
 * valid reader whose tensors all read, or a `SafetensorsError`: never another exception, a hang,
 * or a read (allocation) larger than the file. A bounded number of cases runs in CI.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ByteSource } from '../src/index.js';
import { bytesSource, SafetensorsError, SafetensorsReader, serializeSafetensors } from '../src/index.js';
import { OBJECT_MEMBER_VALUES } from '../src/testing/index.js';
import { useReference } from './setup.js';

beforeAll(() => {
  useReference();
});

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);

const DTYPES = ['F64', 'F32', 'F16', 'BF16', 'I64', 'I32'] as const;

/** A valid safetensors file of a few small tensors with metadata. */
const validFile = fc
  .array(
    fc.record({
      name: fc.string({ minLength: 1, maxLength: 12 }).filter((n) => n !== '__metadata__'),
      dtype: fc.constantFrom(...DTYPES),
      shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .map((specs) => {
    const tensors: Record<string, { dtype: (typeof DTYPES)[number]; shape: number[]; values: number[] }> = {};
    for (const s of specs) tensors[s.name] = { dtype: s.dtype, shape: s.shape, values: Array.from({ length: s.shape.reduce((a, b) => a * b, 1) }, (_, i) => i - 3) };
    return serializeSafetensors(tensors, { format: 'pt' });
  });

/** Values a hostile header puts where numbers belong. */
const nasty = fc.oneof(
  fc.constantFrom(2 ** 50, 2 ** 53, -1, 1.5, Number.MAX_SAFE_INTEGER, 1e308, 0, 8, 2 ** 32, ...OBJECT_MEMBER_VALUES),
  fc.jsonValue({ maxDepth: 2 }),
);

type Header = Record<string, Record<string, unknown>>;

function parts(bytes: Uint8Array): { header: Header; data: Uint8Array } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Header, data: bytes.subarray(8 + n) };
}

function assemble(header: unknown, data: Uint8Array): Uint8Array {
  const h = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

/** A header edit: one field of one entry set to a nasty value, or deleted, or the entry replaced. */
const headerEdit = fc.record({ entry: fc.nat(), field: fc.constantFrom('dtype', 'shape', 'data_offsets', 'extra', 'whole'), value: nasty, inList: fc.nat({ max: 3 }), remove: fc.boolean() });

function applyEdit(bytes: Uint8Array, e: { entry: number; field: string; value: unknown; inList: number; remove: boolean }): Uint8Array {
  const { header, data } = parts(bytes);
  const names = Object.keys(header);
  const name = names[e.entry % names.length];
  const entry = header[name];
  if (e.field === 'whole' || entry === null || typeof entry !== 'object') header[name] = e.value as Record<string, unknown>;
  else if (e.remove) delete header[name][e.field];
  else if (Array.isArray(header[name][e.field]) && (header[name][e.field] as unknown[]).length > 0) {
    const list = [...(header[name][e.field] as unknown[])];
    list[e.inList % list.length] = e.value;
    header[name][e.field] = list;
  } else header[name][e.field] = e.value;
  return assemble(header, data);
}

/** A byte source that records the largest read, to prove nothing reads (allocates) past the file. */
function watched(bytes: Uint8Array): ByteSource & { largest: number } {
  const inner = bytesSource(bytes);
  const src = {
    largest: 0,
    byteLength: inner.byteLength,
    read(offset: number, length: number) {
      src.largest = Math.max(src.largest, length);
      return inner.read(offset, length);
    },
  };
  return src;
}

/** Opens and reads everything; returns 'ok' or the typed error's class name. Anything else fails the property. */
async function readAll(bytes: Uint8Array): Promise<string> {
  const source = watched(bytes);
  try {
    const reader = await SafetensorsReader.open(source, 'fuzz');
    for (const name of reader.names) {
      const t = await reader.tensor(name);
      t.dispose();
    }
    return 'ok';
  } catch (err) {
    if (err instanceof SafetensorsError) return err.name;
    throw err;
  } finally {
    expect(source.largest).toBeLessThanOrEqual(bytes.length);
  }
}

describe('safetensors fuzz', () => {
  it('valid files read back', async () => {
    await fc.assert(
      fc.asyncProperty(validFile, async (bytes) => {
        expect(await readAll(bytes)).toBe('ok');
      }),
      { numRuns: 50 },
    );
  });

  it('flipped bytes', async () => {
    const flips = fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(validFile, flips, async (bytes, fl) => {
        const b = bytes.slice();
        for (const f of fl) b[f.at % b.length] = f.value;
        await readAll(b);
      }),
      { numRuns: RUNS },
    );
  });

  it('truncated and extended files', async () => {
    await fc.assert(
      fc.asyncProperty(validFile, fc.nat(), fc.uint8Array({ maxLength: 16 }), async (bytes, cut, tail) => {
        await readAll(bytes.subarray(0, cut % (bytes.length + 1)));
        const longer = new Uint8Array(bytes.length + tail.length);
        longer.set(bytes);
        longer.set(tail, bytes.length);
        await readAll(longer);
      }),
      { numRuns: RUNS },
    );
  });

  it('a header length of any 64-bit value (2^50 included) allocates nothing large', async () => {
    await fc.assert(
      fc.asyncProperty(validFile, fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constantFrom(2n ** 50n, 2n ** 63n, 0n, 1n)), async (bytes, n) => {
        const b = bytes.slice();
        new DataView(b.buffer).setBigUint64(0, n, true);
        await readAll(b);
      }),
      { numRuns: RUNS },
    );
  });

  it('edited header entries: huge shapes and offsets, wrong types, missing fields', async () => {
    await fc.assert(
      fc.asyncProperty(validFile, fc.array(headerEdit, { minLength: 1, maxLength: 3 }), async (bytes, edits) => {
        let b = bytes;
        for (const e of edits) b = applyEdit(b, e);
        await readAll(b);
      }),
      { numRuns: RUNS },
    );
  });

  it('a header claiming a 2^50-byte tensor is refused without allocating', async () => {
    const b = assemble({ w: { dtype: 'F32', shape: [2 ** 48], data_offsets: [0, 2 ** 50] } }, new Uint8Array(16));
    expect(await readAll(b)).toBe('SafetensorsError');
  });
});
