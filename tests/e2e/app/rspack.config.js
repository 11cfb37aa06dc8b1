// Bundles index.js with the JupyterLab packages it imports; @jupyterlab/builder copies the
// extensions' settings schemas and themes into build/ and writes build/style.js.
const fs = require('fs');
const path = require('path');
const rspack = require('@rspack/core');
const { Build } = require('@jupyterlab/builder');
const svgToDataUri = require('mini-svg-data-uri');
const pkg = require('./package.json');

const output = path.join(__dirname, 'build');
// Chunk names carry content hashes: start from an empty build/ so old ones do not pile up.
fs.rmSync(output, { recursive: true, force: true });

/**
 * ensureAssets returns one webpack config per theme, extracting its CSS with mini-css-extract-plugin;
 * rspack has its own extractor, so the themes are built with that instead.
 */
function withRspackCssExtract(config) {
  return {
    ...config,
    module: {
      ...config.module,
      rules: config.module.rules.map((rule) =>
        String(rule.test) === String(/\.css$/) ? { ...rule, use: [rspack.CssExtractRspackPlugin.loader, require.resolve('css-loader')] } : rule,
      ),
    },
    plugins: [new rspack.CssExtractRspackPlugin({ filename: '[name].css' })],
  };
}

const themes = Build.ensureAssets({ packageNames: pkg.jupyterlab.extensions, output }).map(withRspackCssExtract);

module.exports = [
  {
    mode: 'production',
    entry: { bundle: path.join(__dirname, 'index.js') },
    output: { path: output, filename: '[name].js', chunkFilename: '[name].[contenthash].js' },
    bail: true,
    devtool: false,
    performance: { hints: false },
    module: {
      rules: [
        { test: /\.raw\.css$/, type: 'asset/source' },
        { test: /(?<!\.raw)\.css$/, use: ['style-loader', 'css-loader'] },
        { test: /\.md$/, type: 'asset/source' },
        { test: /\.(jpg|png|gif|woff2?|ttf|eot)(\?.*)?$/, type: 'asset/resource' },
        {
          test: /\.svg(\?.*)?$/,
          issuer: /\.css$/,
          type: 'asset/inline',
          generator: { dataUrl: (content) => svgToDataUri(content.toString()) },
        },
        { test: /\.svg(\?.*)?$/, issuer: /\.js$/, type: 'asset/source' },
      ],
    },
    plugins: [new rspack.DefinePlugin({ process: { cwd: () => '/', env: {} } })],
  },
].concat(themes);
