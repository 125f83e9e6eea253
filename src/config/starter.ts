/** The commented starter file `engineroom init` writes. Every key is shown with its default. */
export function starterConfig(projectName: string): string {
  return `# engineroom.yaml — what Engineroom runs, and how it releases it.
# Editors: \`engineroom schema > engineroom.schema.json\` gives completion and checks.
# yaml-language-server: $schema=./engineroom.schema.json
project: ${projectName}

# Where the engine keeps its store, artifacts, instance logs and API token.
# state_dir: .engineroom
# store:
#   url: postgres://user@127.0.0.1:5432/engineroom   # default: embedded SQLite in state_dir

proxy:
  listen: 127.0.0.1:8080   # the reverse proxy every route goes through
  workers: 1               # proxy worker processes

api:
  listen: 127.0.0.1:7070   # the local HTTP API the CLI talks to (token in state_dir/api-token)

services:
  web:
    # Run in the artifact's folder with /bin/sh; the instance must listen on $PORT.
    run: node server.js
    # Default artifact for \`engineroom deploy web\` (a folder or a .tgz, relative to this file).
    artifact: ./app
    instances: 2
    env:
      GREETING: hello
    routes:
      - host: "*"          # any host
        path: /            # longest prefix wins
    health:
      path: /healthz       # any 2xx/3xx passes
      interval: 1s
      timeout: 2s
      healthy_threshold: 2 # passes in a row
      start_timeout: 30s
    smoke:                 # run against every new instance before the switch
      - name: home page
        method: GET
        path: /
        expect:
          status: 200
          body_contains: hello
    release:
      watch: 5m            # the old release stays warm this long after a switch
      drain_timeout: 30s   # longest wait for in-flight requests before stopping the old release
      stop_grace: 10s      # SIGTERM, then SIGKILL after this
      keep: 10             # releases kept for rollback
    restart:
      max_restarts: 5      # crashes within \`window\` before an instance is given up
      window: 1m
      backoff: 1s          # doubles up to max_backoff
      max_backoff: 30s
`;
}
