import type { ByteSource, TensorFileReader } from './safetensors.js';
import { SafetensorsReader } from './safetensors.js';
import { TorchCheckpointReader } from './torch-bin.js';

/** Opens a checkpoint file of either format, told apart by its first bytes (a zip is PyTorch's). */
export async function openTensorFile(source: ByteSource, label = 'checkpoint'): Promise<TensorFileReader> {
  const head = source.byteLength >= 2 ? await source.read(0, 2) : new Uint8Array(0);
  if (head[0] === 0x50 && head[1] === 0x4b) return TorchCheckpointReader.open(source, label);
  return SafetensorsReader.open(source, label);
}
