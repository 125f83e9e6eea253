/**
 * Network failures in a few words, from the error's code only: an error's own message may quote a
 * URL with its query or credentials, a result's `error` must not.
 */
export function describeNetworkError(error: unknown, target: string): string {
  const code = errorCode(error);
  switch (code) {
    case "ECONNREFUSED":
      return `connection refused by ${target}`;
    case "ECONNRESET":
    case "EPIPE":
    case "UND_ERR_SOCKET":
      return `connection to ${target} closed before an answer`;
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
      return `host not found: ${target}`;
    case "ETIMEDOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
      return `connecting to ${target} timed out`;
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return `${target} is unreachable`;
    case "CERT_HAS_EXPIRED":
    case "CERT_NOT_YET_VALID":
    case "DEPTH_ZERO_SELF_SIGNED_CERT":
    case "SELF_SIGNED_CERT_IN_CHAIN":
    case "UNABLE_TO_VERIFY_LEAF_SIGNATURE":
    case "UNABLE_TO_GET_ISSUER_CERT_LOCALLY":
    case "UNABLE_TO_GET_ISSUER_CERT":
    case "ERR_TLS_CERT_ALTNAME_INVALID":
      return `TLS certificate of ${target} is not trusted (${code})`;
    default:
      if (code?.startsWith("ERR_SSL") || code === "EPROTO") return `TLS handshake with ${target} failed (${code})`;
      return `request to ${target} failed (${code ?? (error as Error)?.name ?? "error"})`;
  }
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string") return code;
  const cause = (error as { cause?: unknown })?.cause;
  return cause && cause !== error ? errorCode(cause) : undefined;
}
