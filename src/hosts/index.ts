/**
 * SSH hosts: commands on a host over the system's OpenSSH client against pinned host keys, and the
 * host's data-plane control socket forwarded to a local Unix socket (supervised, restarted when the
 * link comes back), and artifacts shipped to a host by digest (a tar stream over ssh, verified there).
 */
export { hostKeyRefused, runSsh, shellQuote, sshArgs, sshFailure, sshOptions, type SshResult, type SshTarget } from "./ssh.js";
export { SocketForward, type ForwardState, type SocketForwardOptions } from "./forward.js";
export { forwardControlSocket, forwardHosts, type ForwardedHost, type ForwardHostOptions, type ReachableHost } from "./connect.js";
export { socketAnswersSnippet, startRemoteDaemon, type RemoteDaemonOptions } from "./daemon.js";
export { prepareHosts, pinnedLines, knownHostsName, type PreparedHost, type PrepareOptions } from "./targets.js";
export { checkHost, minimumNodeMajor, type HostCheck } from "./check.js";
export { bundleDigest, shipCode, type CodeBundle } from "./code.js";
export { shipArtifact, type ArtifactAgent } from "./ship.js";
export { bootstrapHost, engineBundle, localCode, type HostBootstrap } from "./bootstrap.js";
