import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel/src/engine/backend';
import { RGBImage } from '../kernel/src/types';
import {
  decodeImage,
  detectFormat,
  imageFromPixels,
  imageFromTensor,
  loadImageFile,
} from '../kernel/src/images/decode';
import { encodePng, pngDataUrl, toRGBA } from '../kernel/src/images/encode';
import { centerCrop, loadForModel, resizeImage } from '../kernel/src/images/resize';
import { expectCnnvisError } from './helpers/errors';

const DATA = process.env.CNNVIS_DATA ?? path.resolve(__dirname, '../../shared/data/images');

// ---------- a minimal PNG writer, so tests control colour type, bit depth, palette and tRNS ----------
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
/** rows: already packed scanline bytes (without filter byte). */
function makePng(w: number, h: number, depth: number, colorType: number, rows: Buffer[], extra: Buffer[] = []): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = depth;
  ihdr[9] = colorType;
  const raw = Buffer.concat(rows.map((r) => Buffer.concat([Buffer.from([0]), r])));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    ...extra,
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
function u16(values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 2);
  values.forEach((v, i) => b.writeUInt16BE(v, i * 2));
  return b;
}
function px(img: RGBImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * 3;
  return Array.from(img.data.subarray(i, i + 3));
}

describe('decoding the test photos', () => {
  // width, height
  const expected: Record<string, [number, number]> = {
    'cat_dog.png': [224, 224], 'dogs_group.png': [347, 342], 'puppies.jpg': [1600, 1200], 'eagle.jpg': [773, 512],
    'kitten.jpg': [480, 360], 'chelsea_cat.png': [451, 300], 'coffee.png': [600, 400], 'beagle.jpg': [227, 227],
    'hummingbird.jpg': [224, 224], 'panda.jpg': [414, 414], 'elephant.jpg': [224, 224], 'sports_car.jpg': [224, 224],
  };
  const files = fs.readdirSync(DATA).filter((f) => /\.(png|jpg)$/.test(f));
  const decoded = new Map<string, RGBImage>();

  it('finds the photos', () => {
    expect(files.length).toBeGreaterThanOrEqual(12);
  });

  it.each(files)('%s decodes to its size with plausible pixels', (f) => {
    const img = loadImageFile(path.join(DATA, f));
    decoded.set(f, img);
    if (expected[f]) expect([img.width, img.height]).toEqual(expected[f]);
    expect(img.data.length).toBe(img.width * img.height * 3);
    let sum = 0;
    const seen = new Uint8Array(256);
    const d = img.data;
    for (let i = 0; i < d.length; i++) {
      sum += d[i];
      seen[d[i]] = 1;
    }
    const mean = sum / d.length;
    expect(mean).toBeGreaterThan(30);
    expect(mean).toBeLessThan(225);
    expect(seen.reduce((a, b) => a + b, 0)).toBeGreaterThan(100); // a photo, not a flat or broken image
  });

  it('the skimage coffee photo has a reddish-brown cast and the elephant sky is blue', () => {
    const coffee = decoded.get('coffee.png') ?? loadImageFile(path.join(DATA, 'coffee.png'));
    const means = [0, 0, 0];
    for (let i = 0; i < coffee.data.length; i++) means[i % 3] += coffee.data[i];
    expect(means[0]).toBeGreaterThan(means[2]);
    const el = decoded.get('elephant.jpg') ?? loadImageFile(path.join(DATA, 'elephant.jpg'));
    const [r, , b] = px(el, 10, 5);
    expect(b).toBeGreaterThan(r + 30);
  });
});

describe('PNG variants', () => {
  it('round trip RGB and RGBA through encodePng is byte-exact', () => {
    const w = 7;
    const h = 5;
    const rgb = new Uint8Array(w * h * 3).map((_, i) => (i * 37 + 11) % 256);
    const back = decodeImage(encodePng({ width: w, height: h, data: rgb }));
    expect(back.width).toBe(w);
    expect(back.height).toBe(h);
    expect(Buffer.from(back.data).equals(Buffer.from(rgb))).toBe(true);

    const rgba = new Uint8Array(w * h * 4).map((_, i) => (i * 53 + 3) % 256);
    const parsed = PNG.sync.read(Buffer.from(encodePng({ width: w, height: h, data: rgba })));
    expect(Buffer.from(parsed.data).equals(Buffer.from(rgba))).toBe(true);
    // RGB PNG has colour type 2, RGBA colour type 6
    expect(encodePng({ width: w, height: h, data: rgb })[25]).toBe(2);
    expect(encodePng({ width: w, height: h, data: rgba })[25]).toBe(6);
  });

  it('8-bit grey copies the value to R, G, B', () => {
    const img = decodeImage(makePng(3, 1, 8, 0, [Buffer.from([0, 128, 255])]));
    expect(Array.from(img.data)).toEqual([0, 0, 0, 128, 128, 128, 255, 255, 255]);
  });

  it('1-bit and 4-bit grey scale to 0..255', () => {
    const one = decodeImage(makePng(4, 1, 1, 0, [Buffer.from([0b10100000])]));
    expect(Array.from(one.data)).toEqual([255, 255, 255, 0, 0, 0, 255, 255, 255, 0, 0, 0]);
    const four = decodeImage(makePng(2, 1, 4, 0, [Buffer.from([0x5f])]));
    expect(Array.from(four.data)).toEqual([85, 85, 85, 255, 255, 255]);
  });

  it('grey + alpha composites onto white (and onto a chosen background)', () => {
    const bytes = makePng(3, 1, 8, 4, [Buffer.from([100, 255, 100, 0, 0, 128])]);
    const img = decodeImage(bytes);
    // opaque 100; fully transparent → white; 0 at alpha 128 → 255·127/255 = 127
    expect(Array.from(img.data)).toEqual([100, 100, 100, 255, 255, 255, 127, 127, 127]);
    const onBlack = decodeImage(bytes, 'x.png', { background: [0, 0, 0] });
    expect(Array.from(onBlack.data)).toEqual([100, 100, 100, 0, 0, 0, 0, 0, 0]);
  });

  it('RGBA composites alpha, opaque pixels stay exact', () => {
    const img = decodeImage(makePng(2, 1, 8, 6, [Buffer.from([10, 20, 30, 255, 200, 0, 0, 51])]));
    // 200·0.2 + 255·0.8 = 244; 0·0.2 + 255·0.8 = 204
    expect(Array.from(img.data)).toEqual([10, 20, 30, 244, 204, 204]);
  });

  it('palette with tRNS and 2-bit indices', () => {
    const plte = chunk('PLTE', Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 8, 7]));
    const trns = chunk('tRNS', Buffer.from([255, 255, 0])); // index 2 transparent
    // indices 0,1,2,3 packed 2 bits each: 00 01 10 11
    const img = decodeImage(makePng(4, 1, 2, 3, [Buffer.from([0b00011011])], [plte, trns]));
    expect(Array.from(img.data)).toEqual([255, 0, 0, 0, 255, 0, 255, 255, 255, 9, 8, 7]);
  });

  it('16-bit RGB and grey reduce to 8 bits', () => {
    const rgb = decodeImage(makePng(2, 1, 16, 2, [u16([65535, 0, 32896, 257, 514, 65535])]));
    expect(Array.from(rgb.data)).toEqual([255, 0, 128, 1, 2, 255]);
    const grey = decodeImage(makePng(2, 1, 16, 0, [u16([0, 25700])]));
    expect(Array.from(grey.data)).toEqual([0, 0, 0, 100, 100, 100]);
  });

  it('a second, interlaced-free RGB written by pngjs decodes to the same pixels', () => {
    const png = new PNG({ width: 2, height: 2 });
    png.data = Buffer.from([1, 2, 3, 255, 4, 5, 6, 255, 7, 8, 9, 255, 10, 11, 12, 255]);
    const img = decodeImage(PNG.sync.write(png));
    expect(Array.from(img.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });
});

describe('format detection and errors', () => {
  const good = encodePng({ width: 4, height: 4, data: new Uint8Array(48).fill(90) });

  it('detects formats by magic bytes, not names', () => {
    expect(detectFormat(good)).toBe('png');
    expect(detectFormat(Buffer.from('GIF89a\x01\x00', 'latin1'))).toBe('gif');
    expect(detectFormat(Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1'))).toBe('webp');
    expect(detectFormat(Buffer.from('BM\x00\x00', 'latin1'))).toBe('bmp');
    expect(detectFormat(Buffer.from('<!DOCTYPE html><html>', 'latin1'))).toBe('html');
    expect(detectFormat(Buffer.from([1, 2, 3, 4]))).toBe('unknown');
    // a PNG called .jpg still decodes
    expect(decodeImage(good, 'photo.jpg').width).toBe(4);
  });

  it('empty input', () => {
    expectCnnvisError(() => decodeImage(new Uint8Array(0), 'a.png'), /'a\.png'/, /empty/, /PNG or JPEG/);
  });

  it('GIF, WebP and unknown bytes name the kind and the supported formats', () => {
    expectCnnvisError(() => decodeImage(Buffer.from('GIF89a\x01\x00\x01\x00', 'latin1'), 'anim.gif'), /'anim\.gif'/, /GIF/, /PNG, JPEG/);
    expectCnnvisError(() => decodeImage(Buffer.from('RIFF\x10\x00\x00\x00WEBPVP8 ', 'latin1'), 'x.webp'), /WebP/, /PNG, JPEG/);
    expectCnnvisError(() => decodeImage(Buffer.from([1, 2, 3, 4, 5]), 'blob'), /not a supported image/, /01 02 03/, /PNG, JPEG/);
  });

  it('truncated and corrupt PNG/JPEG', () => {
    expectCnnvisError(() => decodeImage(good.subarray(0, 12), 't.png'), /'t\.png'/, /truncated or corrupt/);
    expectCnnvisError(() => decodeImage(good.subarray(0, good.length - 20), 't.png'), /PNG/, /truncated or corrupt/);
    const bad = Buffer.from(good);
    bad[40] ^= 0xff; // inside IDAT: CRC mismatch
    expectCnnvisError(() => decodeImage(bad, 'c.png'), /'c\.png'/, /truncated or corrupt/);
    const jpg = fs.readFileSync(path.join(DATA, 'elephant.jpg'));
    expectCnnvisError(() => decodeImage(jpg.subarray(0, jpg.length >> 1), 'half.jpg'), /'half\.jpg'/, /JPEG/, /truncated or corrupt/);
    expectCnnvisError(() => decodeImage(jpg.subarray(0, 4), 'tiny.jpg'), /JPEG/, /truncated or corrupt/);
  });

  it('missing files and directories', () => {
    expectCnnvisError(() => loadImageFile('/nonexistent/dir/cat.png'), /not found/, /cat\.png/);
    expectCnnvisError(() => loadImageFile(os.tmpdir()), /directory/);
  });

  it('refuses images above maxMegapixels before decoding', () => {
    // the header claims 30000×20000; the pixel data is not even there, so only a header check can answer
    const big = makePng(30000, 20000, 8, 0, [Buffer.from([0])]);
    expectCnnvisError(() => decodeImage(big, 'big.png'), /30000×20000/, /600\.0 megapixels/, /limit of 64/);
  });
});

describe('huge images are downscaled on decode', () => {
  it('caps the long side with a box filter', () => {
    const w = 40;
    const h = 20;
    const data = new Uint8Array(w * h * 3);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.fill((x + y) % 2 ? 200 : 0, (y * w + x) * 3, (y * w + x) * 3 + 3);
    const img = decodeImage(encodePng({ width: w, height: h, data }), 'checker.png', { maxSide: 10 });
    expect([img.width, img.height]).toEqual([10, 5]);
    for (const v of img.data) expect(v).toBe(100); // a box average of the checkerboard, no aliasing
    const jpg = jpeg.encode({ width: 64, height: 32, data: Buffer.alloc(64 * 32 * 4, 128) }, 95).data;
    const small = decodeImage(jpg, 'j.jpg', { maxSide: 16 });
    expect([small.width, small.height]).toEqual([16, 8]);
  });
});

describe('pixels and tensors', () => {
  beforeAll(async () => {
    await initBackend();
  });

  it('imageFromPixels: grey, RGB, RGBA, Uint8Clamped and float ranges', () => {
    expect(Array.from(imageFromPixels(new Uint8Array([7, 9]), 2, 1, 1).data)).toEqual([7, 7, 7, 9, 9, 9]);
    expect(Array.from(imageFromPixels(new Uint8ClampedArray([1, 2, 3]), 1, 1, 3).data)).toEqual([1, 2, 3]);
    expect(Array.from(imageFromPixels(new Uint8Array([0, 0, 0, 0]), 1, 1, 4).data)).toEqual([255, 255, 255]);
    expect(Array.from(imageFromPixels(new Float32Array([0, 0.5, 1]), 1, 1, 3).data)).toEqual([0, 128, 255]);
    expect(Array.from(imageFromPixels(new Float32Array([0, 2.4, 300]), 1, 1, 3).data)).toEqual([0, 2, 255]);
    expectCnnvisError(() => imageFromPixels(new Uint8Array(5), 2, 1, 3), /5 values/, /needs 6/);
    expectCnnvisError(() => imageFromPixels(new Float32Array([-1, 0, 1]), 1, 1, 3), /preprocessed/, /\[0, 255\]/);
    expectCnnvisError(() => imageFromPixels(new Uint8Array(2), 1, 1, 2 as 3), /1, 3 or 4/);
  });

  it('imageFromTensor reads [H,W,C] and [1,H,W,C] in [0,255] or [0,1]', () => {
    const t = tf.tensor3d([0, 0.5, 1, 1, 0, 0], [1, 2, 3]);
    expect(Array.from(imageFromTensor(t).data)).toEqual([0, 128, 255, 255, 0, 0]);
    const t4 = tf.tensor4d([10, 20, 30, 40], [1, 2, 2, 1]);
    const img = imageFromTensor(t4);
    expect([img.width, img.height]).toEqual([2, 2]);
    expect(Array.from(img.data)).toEqual([10, 10, 10, 20, 20, 20, 30, 30, 30, 40, 40, 40]);
    expectCnnvisError(() => imageFromTensor(tf.zeros([2, 2, 2, 3]) as tf.Tensor4D), /batch size 2/);
    expectCnnvisError(() => imageFromTensor(tf.zeros([2, 2, 2]) as tf.Tensor3D), /2 channels/);
    tf.dispose([t, t4]);
  });
});

describe('resizing', () => {
  const img = (w: number, h: number, values: number[]): RGBImage => ({
    width: w,
    height: h,
    data: Uint8Array.from(values.flatMap((v) => [v, v, v])),
  });
  const grey = (i: RGBImage) => Array.from(i.data).filter((_, k) => k % 3 === 0);

  it('nearest samples pixel centres like PIL/Keras', () => {
    // 4 → 2 picks source 1 and 3 (centres 0.5·2 = 1, 1.5·2 = 3)
    expect(grey(resizeImage(img(4, 1, [10, 20, 30, 40]), 2, 1, { interpolation: 'nearest' }))).toEqual([20, 40]);
    // 2 → 4 duplicates
    expect(grey(resizeImage(img(2, 1, [10, 20]), 4, 1, { interpolation: 'nearest' }))).toEqual([10, 10, 20, 20]);
    // 3 → 2: floor(0.75)=0, floor(2.25)=2
    expect(grey(resizeImage(img(3, 1, [1, 2, 3]), 2, 1, { interpolation: 'nearest' }))).toEqual([1, 3]);
  });

  it('bilinear uses half-pixel centres', () => {
    // 2 → 4: sources at -0.25, 0.25, 0.75, 1.25 → 0, 25, 75, 100 (edges clamp)
    expect(grey(resizeImage(img(2, 1, [0, 100]), 4, 1, { interpolation: 'bilinear' }))).toEqual([0, 25, 75, 100]);
    // 2×2 → 1×1 samples the centre (0.5, 0.5): mean of all four
    expect(grey(resizeImage(img(2, 2, [0, 100, 200, 40]), 1, 1, { interpolation: 'bilinear' }))).toEqual([85]);
    // 4 → 2 averages neighbour pairs at 0.5 and 2.5
    expect(grey(resizeImage(img(4, 1, [0, 10, 20, 30]), 2, 1))).toEqual([5, 25]);
  });

  it('area averages boxes, with fractional overlaps', () => {
    expect(grey(resizeImage(img(4, 1, [0, 10, 20, 30]), 2, 1, { interpolation: 'area' }))).toEqual([5, 25]);
    // 3 → 2: [0,1.5) = (3 + 0.5·6)/1.5 = 4; [1.5,3) = (0.5·6 + 9)/1.5 = 8
    expect(grey(resizeImage(img(3, 1, [3, 6, 9]), 2, 1, { interpolation: 'area' }))).toEqual([4, 8]);
    expect(grey(resizeImage(img(2, 2, [0, 100, 200, 40]), 1, 1, { interpolation: 'area' }))).toEqual([85]);
  });

  it('keeps RGBA and rejects bad arguments', () => {
    const rgba = { width: 2, height: 1, data: Uint8Array.from([0, 0, 0, 0, 100, 100, 100, 200]) };
    const r = resizeImage(rgba, 1, 1, { interpolation: 'area' });
    expect(Array.from(r.data)).toEqual([50, 50, 50, 100]);
    // extra properties (e.g. a grid's layout) are not carried into the resized image
    const withExtra = { ...rgba, layout: { cols: 2 } };
    expect(Object.keys(resizeImage(withExtra, 4, 2))).toEqual(['width', 'height', 'data']);
    expect(Object.keys(centerCrop(withExtra, 1, 1))).toEqual(['width', 'height', 'data']);
    expectCnnvisError(() => resizeImage(rgba, 0, 1), /width/, /positive integer/);
    expectCnnvisError(() => resizeImage(rgba, 1, 1, { interpolation: 'cubic' as 'area' }), /cubic/, /bilinear, nearest, area/);
  });

  it('centerCrop and loadForModel geometry', () => {
    const w = 6;
    const h = 4;
    const values = Array.from({ length: w * h }, (_, i) => i);
    const src = img(w, h, values);
    const c = centerCrop(src, 2, 2);
    expect(grey(c)).toEqual([8, 9, 14, 15]); // offset (2, 1)
    expectCnnvisError(() => centerCrop(src, 7, 2), /7×2/, /6×4/);

    // stretch ignores aspect ratio and defaults to nearest
    const s = loadForModel(src, 2, 3);
    expect([s.width, s.height]).toEqual([3, 2]);
    // columns floor((x + 0.5)·2) = 1, 3, 5; rows floor((y + 0.5)·2) = 1, 3
    expect(grey(s)).toEqual([7, 9, 11, 19, 21, 23]);

    // center-crop: 6×4 → 2×2 scales the short side to 2 (→ 3×2), then crops the centre column range
    const cc = loadForModel(src, 2, 2, { mode: 'center-crop', interpolation: 'nearest' });
    expect([cc.width, cc.height]).toEqual([2, 2]);
    const scaled = resizeImage(src, 3, 2, { interpolation: 'nearest' });
    expect(grey(cc)).toEqual([grey(scaled)[0], grey(scaled)[1], grey(scaled)[3], grey(scaled)[4]]);

    const photo = loadImageFile(path.join(DATA, 'kitten.jpg'));
    const m = loadForModel(photo, 224, 224, { mode: 'center-crop' });
    expect([m.width, m.height]).toEqual([224, 224]);
    expectCnnvisError(() => loadForModel(src, 2, 2, { mode: 'fit' as 'stretch' }), /fit/, /stretch, center-crop/);
  });
});

describe('encoding helpers', () => {
  it('toRGBA and pngDataUrl', () => {
    const rgb = { width: 1, height: 2, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
    expect(Array.from(toRGBA(rgb, 7).data)).toEqual([1, 2, 3, 7, 4, 5, 6, 7]);
    const url = pngDataUrl(rgb);
    expect(url.startsWith('data:image/png;base64,')).toBe(true);
    const bytes = Buffer.from(url.slice(url.indexOf(',') + 1), 'base64');
    expect(Array.from(decodeImage(bytes).data)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
