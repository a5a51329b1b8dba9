// Types for snappyjs 0.7 (the package ships none). Buffers in, Buffers out under Node.
declare module 'snappyjs' {
  /** Throws when the bitstream is invalid or its declared length exceeds `maxLength`. */
  export function uncompress(compressed: Uint8Array, maxLength?: number): Buffer;
  export function compress(uncompressed: Uint8Array): Buffer;
}
