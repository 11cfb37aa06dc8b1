/** The rendering stage: maps → colours, grids, overlays, colour bars and layout of images. */
export * from './colormaps';
export * from './normalize';
export * from './upsample';
export * from './grid';
export * from './overlay';
export * from './colorbar';
export * from './compose';
export * from './figure';
export * from './gradient';
