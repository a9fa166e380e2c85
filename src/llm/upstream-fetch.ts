/** The transport the SDK uses to reach upstreams. */
export const upstreamFetch: typeof globalThis.fetch = (input, init) => globalThis.fetch(input, init);
