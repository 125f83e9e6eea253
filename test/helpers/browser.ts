/**
 * Debian's chromium as the tests and benches launch it (through playwright-core): headless, as root
 * (no sandbox), and with none of its background traffic — this machine's network is closed, and
 * chromium's own connections (updates, sync, Google's hosts) would be refused, many at a time.
 */
export const chromiumArgs = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
