// Type declarations for the untyped pure-JS codec packages used by the records layer.

declare module 'snappyjs' {
  const SnappyJS: {
    compress(data: Buffer): Buffer;
    uncompress(data: Buffer, maxLength?: number): Buffer;
  };
  export default SnappyJS;
}

/** zstd-codec's Emscripten module factory (WebAssembly inlined as base64; fixed 16 MiB heap). */
declare module 'zstd-codec/lib/zstd-codec-binding-wasm.js' {
  const factory: (module: Record<string, unknown>) => unknown;
  export default factory;
}
