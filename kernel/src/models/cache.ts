/**
 * The model cache ($CNNVIS_HOME, default ~/.cache/cnnvis) and safe downloads into it.
 * Downloads accept only http(s) and file: sources, check size and hash where known, and are written
 * atomically (a temporary file renamed into place), so an interrupted download never leaves a file
 * that later loads as a model.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { fileURLToPath } from 'url';
import { CnnvisError } from '../errors';

export function cnnvisHome(): string {
  const env = process.env.CNNVIS_HOME;
  return env && env.trim() ? path.resolve(env) : path.join(os.homedir(), '.cache', 'cnnvis');
}

export function modelsDir(): string {
  return path.join(cnnvisHome(), 'models');
}

export function dataDir(): string {
  return path.join(cnnvisHome(), 'data');
}

/** True when CNNVIS_OFFLINE forbids downloads. */
export function offline(): boolean {
  const v = process.env.CNNVIS_OFFLINE;
  return !!v && v !== '0' && v.toLowerCase() !== 'false';
}

export interface DownloadCheck {
  /** Exact size in bytes, when known. */
  size?: number;
  md5?: string;
  sha256?: string;
  /** Refuse bodies larger than this (default 2 GiB). */
  maxBytes?: number;
}

/** Reads a URL (http, https or file) fully into memory, checking size and hashes. */
export async function fetchChecked(source: string, check: DownloadCheck = {}): Promise<Uint8Array> {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw new CnnvisError(`'${source}' is not a URL; downloads take http(s):// or file:// URLs`);
  }
  const maxBytes = check.maxBytes ?? 2 * 1024 ** 3;
  let bytes: Uint8Array;
  if (url.protocol === 'file:') {
    const p = fileURLToPath(url);
    if (!fs.existsSync(p)) throw new CnnvisError(`download source ${source} does not exist`);
    if (fs.statSync(p).size > maxBytes) throw new CnnvisError(`${source} is larger than the limit of ${maxBytes} bytes`);
    bytes = new Uint8Array(fs.readFileSync(p));
  } else if (url.protocol === 'http:' || url.protocol === 'https:') {
    let res: Response;
    try {
      res = await fetch(url, { redirect: 'follow' });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new CnnvisError(`could not download ${source}: ${cause?.code ?? cause?.message ?? (e as Error).message}`);
    }
    if (!res.ok) throw new CnnvisError(`could not download ${source}: HTTP ${res.status}`);
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isFinite(declared) && declared > maxBytes) {
      throw new CnnvisError(`${source} is ${declared} bytes, larger than the limit of ${maxBytes} bytes`);
    }
    bytes = new Uint8Array(await res.arrayBuffer());
    if (Number.isFinite(declared) && bytes.byteLength !== declared) {
      throw new CnnvisError(`download of ${source} was cut short: got ${bytes.byteLength} of ${declared} bytes`);
    }
  } else {
    throw new CnnvisError(`refusing to download from '${url.protocol}' (${source}); only http, https and file URLs are allowed`);
  }
  if (bytes.byteLength > maxBytes) throw new CnnvisError(`${source} is larger than the limit of ${maxBytes} bytes`);
  if (check.size !== undefined && bytes.byteLength !== check.size) {
    throw new CnnvisError(`${source}: expected ${check.size} bytes, got ${bytes.byteLength}`);
  }
  for (const algo of ['md5', 'sha256'] as const) {
    const want = check[algo];
    if (!want) continue;
    const got = crypto.createHash(algo).update(bytes).digest('hex');
    if (got !== want.toLowerCase()) throw new CnnvisError(`${source}: ${algo} is ${got}, expected ${want}`);
  }
  return bytes;
}

/** Writes bytes to `dest` atomically: a temporary sibling file, fsync, then rename. */
export function writeFileAtomic(dest: string, bytes: Uint8Array): void {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.part-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { force: true }); // a failed write (disk full, no permission) leaves no temporary file
    throw e;
  }
}

/** Downloads `source` to `dest` (atomically, checked) unless `dest` already exists. */
export async function downloadTo(source: string, dest: string, check: DownloadCheck = {}): Promise<string> {
  if (fs.existsSync(dest)) return dest;
  if (offline()) throw new CnnvisError(`CNNVIS_OFFLINE is set, so ${source} was not downloaded to ${dest}`);
  writeFileAtomic(dest, await fetchChecked(source, check));
  return dest;
}
