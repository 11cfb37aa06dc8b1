/** Paths to the shared test data (read-only; never copied into the project). */
import * as fs from 'fs';
import * as path from 'path';

export const SHARED = process.env.CNNVIS_SHARED ?? path.resolve(__dirname, '../../../shared');
export const IMAGES = path.join(SHARED, 'data', 'images');
export const MODELS = path.join(SHARED, 'data', 'models');

export function requireShared(): void {
  if (!fs.existsSync(IMAGES) || !fs.existsSync(MODELS)) {
    throw new Error(`shared test data not found at ${SHARED}; set CNNVIS_SHARED to the folder holding data/models and data/images`);
  }
}
