// WGSL sources are bundled as text (esbuild's text loader; scripts/build_web.js).
declare module '*.wgsl' {
  const source: string;
  export default source;
}
