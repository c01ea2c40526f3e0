// Bundles the plugin into one IIFE script (what BBB's client loads with a <script> tag) and copies the
// manifest and the locales next to it. esbuild instead of the SDK samples' webpack: one dependency,
// a build in about a second, the same single-file output.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';

rmSync('dist', { recursive: true, force: true });
mkdirSync('dist/locales', { recursive: true });

await build({
  entryPoints: ['src/index.tsx'],
  outfile: 'dist/roomagent-plugin.js',
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2019',
  legalComments: 'none',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});

cpSync('manifest.json', 'dist/manifest.json');
const locales = readdirSync('locales').filter((name) => name.endsWith('.json'));
for (const name of locales) cpSync(`locales/${name}`, `dist/locales/${name}`);
// The SDK's useLocaleMessages reads <localesBaseUrl>/index.json to learn which locales exist.
writeFileSync('dist/locales/index.json', `${JSON.stringify(locales)}\n`);
console.log(`built dist/roomagent-plugin.js, manifest.json, locales ${locales.join(' ')}`);
