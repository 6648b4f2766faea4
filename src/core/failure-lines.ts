/**
 * The lines of a failed script's output that say why it failed. Scripts print their cause early and
 * clean up afterwards (deploy-runtime.sh restores backups, releases its lock), so the last lines are
 * rarely the explanation.
 */
const EXPLAINING: RegExp[] = [
  /\bERROR:/, // [deploy] ERROR: …, [deploy-runtime] ERROR: …, pull-all's ERROR:
  /required variable \S+ is missing a value/, // docker compose's interpolation check
  /^\s*fatal:/, // git
  /^\s*error:/, // git, uv
  /\bFAILED\b/, // pull-all.sh's per-repo lines, "Health check FAILED"
];

const MAX = 8;

/**
 * Explaining lines (in order, each once; a line ending in `:` keeps its indented continuation, which
 * names the file or value), else the last `fallback` lines.
 */
export function explainingLines(lines: string[], fallback = 3): string[] {
  const out: string[] = [];
  for (let i = 0; i < lines.length && out.length < MAX; i++) {
    const line = lines[i] as string;
    if (!EXPLAINING.some((re) => re.test(line)) || out.includes(line)) continue;
    out.push(line);
    const next = lines[i + 1];
    if (line.trimEnd().endsWith(':') && next !== undefined && /^\s+\S/.test(next) && out.length < MAX) {
      out.push(next);
      i++;
    }
  }
  return out.length > 0 ? out : lines.filter((l) => l.trim() !== '').slice(-fallback);
}
