export interface ConfigProblem {
  path: (string | number)[];
  message: string;
}

/** Two services on one host and path prefix in one environment. */
export function routeConflicts(services: Record<string, { routes: { host: string; path: string }[] }>, at: (string | number)[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Map<string, string>();
  for (const [serviceName, service] of Object.entries(services)) {
    for (const [index, route] of service.routes.entries()) {
      const key = `${route.host}${route.path}`;
      const other = seen.get(key);
      if (other !== undefined && other !== serviceName) {
        problems.push({
          path: [...at, "services", serviceName, "routes", index],
          message: `route ${key} is already served by service "${other}"; give one of them another host or path`,
        });
      }
      seen.set(key, serviceName);
    }
  }
  return problems;
}

