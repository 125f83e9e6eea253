/**
 * Parses a listen address: "127.0.0.1:8080", "[::1]:0", "localhost:80", or ":8080" (all interfaces).
 * Returns undefined when it is not one.
 */
export function parseListen(listen: string): { host: string; port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(listen.trim());
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65535) return undefined;
  const host = match[1] ?? (match[2] || "0.0.0.0");
  return { host, port };
}

/** Formats host and port the way a URL authority writes them (brackets around IPv6). */
export function formatAuthority(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
