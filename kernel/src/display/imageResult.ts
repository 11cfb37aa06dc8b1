/** A result that is just a picture with a caption (overlays, composites). */
import { RGBAImage } from '../types';
import { Result, ResultMeta } from './result';

export class ImageResult extends Result {
  readonly kind = 'image';
  constructor(meta: ResultMeta, private readonly picture: RGBAImage, private readonly caption: string) {
    super(meta);
  }
  text(): string {
    return this.caption;
  }
  override image(): RGBAImage {
    return this.picture;
  }
}
