/** A result that is just a picture with a caption (overlays, composites). */
import { enlarge } from '../render/compose';
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
  /** The picture; a small one (a 28×28 model's overlay) enlarged by a whole factor to at least 224 px. */
  override image(): RGBAImage {
    return enlarge(this.picture);
  }
}
