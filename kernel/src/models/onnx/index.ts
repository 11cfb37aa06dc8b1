/**
 * loadOnnxModel: an ONNX file exported from PyTorch (torch.onnx.export) as a functional TF.js model
 * (read.ts decodes it, convert.ts builds the graph). Layer options then accept PyTorch module paths.
 */
import * as path from 'path';
import { convertOnnx, OnnxImport } from './convert';
import { readOnnxFile } from './read';

export { SUPPORTED_ONNX_OPS, modulePaths } from './convert';
export type { OnnxImport } from './convert';
export { looksLikeOnnx } from './read';

/** Reads and converts an ONNX model; `size` [H, W] for an input of unknown height and width (default 224×224). */
export function loadOnnxModel(file: string, size?: [number, number]): OnnxImport {
  const { model, dir, label } = readOnnxFile(file);
  return convertOnnx(model, dir, label, path.basename(file).replace(/\.onnx$/i, ''), size);
}
