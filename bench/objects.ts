/**
 * The objects bench:edge serves: 1 KiB and 100 KiB bodies of deterministic bytes, the same in the
 * origin, the Node ceiling and (through the origin) every proxy measured.
 */
export interface BenchObject {
  path: string;
  body: Buffer;
  etag: string;
}

export const OBJECT_SIZES = [
  { path: '/1k', bytes: 1024 },
  { path: '/100k', bytes: 100 * 1024 },
] as const;

export function benchObjects(): BenchObject[] {
  return OBJECT_SIZES.map(({ path, bytes }) => {
    const body = Buffer.alloc(bytes);
    for (let i = 0; i < bytes; i++) body[i] = 97 + (i % 26);
    return { path, body, etag: `"${path.slice(1)}-v1"` };
  });
}
