/**
 * Node-only helpers (`@mamba3/tensor/node`): files as byte sources, so large safetensors files
 * are read one tensor at a time instead of all at once.
 */
import { open, writeFile } from 'node:fs/promises';
import { SafetensorsError } from './errors.js';
import type { ByteSource, SafetensorsPlan, SaveOptions, TensorFileReader } from './safetensors.js';
import { SafetensorsReader, saveSafetensors } from './safetensors.js';
import { openTensorFile } from './tensor-file.js';
import type { TorchTensorSpec } from './torch-write.js';
import { writeTorchCheckpoint } from './torch-write.js';
import type { Tensor } from './tensor.js';

export async function fileSource(path: string): Promise<ByteSource> {
  const handle = await open(path, 'r');
  const { size } = await handle.stat();
  return {
    byteLength: size,
    async read(offset, length) {
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return buf.subarray(0, done);
    },
    close: () => handle.close(),
  };
}

/** Opens a safetensors file; remember to `close()` the reader. */
export async function openSafetensors(path: string): Promise<SafetensorsReader> {
  const source = await fileSource(path);
  try {
    return await SafetensorsReader.open(source, path);
  } catch (err) {
    await source.close?.();
    throw err;
  }
}

/** Opens a safetensors or PyTorch `.bin` file (told apart by content); remember to `close()` the reader. */
export async function openCheckpointFile(path: string): Promise<TensorFileReader> {
  const source = await fileSource(path);
  try {
    return await openTensorFile(source, path);
  } catch (err) {
    await source.close?.();
    throw err;
  }
}

export async function writeSafetensorsFile(path: string, tensors: Record<string, Tensor>, opts?: SaveOptions): Promise<void> {
  await writeFile(path, await saveSafetensors(tensors, opts));
}

/**
 * Writes a planned safetensors file one tensor at a time (`bytesOf` gives each tensor's encoded
 * bytes, in plan order), so a multi-GB checkpoint never sits in memory whole.
 */
export async function writeSafetensorsPlanned(path: string, plan: SafetensorsPlan, bytesOf: (name: string) => Promise<Uint8Array>): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.write(plan.header, 0, plan.header.length, 0);
    for (const { name, begin, byteLength } of plan.order) {
      const bytes = await bytesOf(name);
      if (bytes.length !== byteLength) throw new SafetensorsError(`${path}: tensor "${name}" gave ${bytes.length} bytes, the plan says ${byteLength}`);
      await handle.write(bytes, 0, bytes.length, plan.header.length + begin);
    }
  } finally {
    await handle.close();
  }
}

/** Writes a PyTorch checkpoint (`pytorch_model.bin`, torch.save's format) tensor by tensor. */
export async function writeTorchCheckpointFile(path: string, specs: Record<string, TorchTensorSpec>, bytesOf: (name: string) => Promise<Uint8Array>, opts?: { archive?: string }): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await writeTorchCheckpoint(specs, bytesOf, async (bytes, at) => void (await handle.write(bytes, 0, bytes.length, at)), opts);
  } finally {
    await handle.close();
  }
}
