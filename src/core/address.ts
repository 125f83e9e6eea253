/** `host:port`, with an IPv6 host in brackets (`[::1]:8080`). */
export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The host and port of `host:port` or `[v6]:port`; undefined when it is not one. */
export function parseAddress(address: string): { host: string; port: number } | undefined {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address);
  return match ? { host: match[1]!, port: Number(match[2]) } : undefined;
}
