/** Token scopes (the Docker token protocol's `type:name:actions`) for repository access. */

export function pullScope(repo: string): string {
  return `repository:${repo}:pull`;
}

export function pushScope(repo: string): string {
  return `repository:${repo}:pull,push`;
}
