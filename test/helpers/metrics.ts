/** One Prometheus scrape: each series' value by name, summed over its labels unless `labels` picks one. */
export interface Scrape {
  value(name: string, labels?: Record<string, string>): number;
  text: string;
}

export async function scrapeMetrics(address: string): Promise<Scrape> {
  const response = await fetch(`http://${address}/metrics`);
  if (!response.ok) throw new Error(`metrics: HTTP ${response.status}`);
  const text = await response.text();
  const series = text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a Prometheus sample: ${line}`);
      const labels: Record<string, string> = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m): [string, string] => [m[1]!, m[2]!]),
      );
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
  return {
    text,
    value: (name, labels = {}) =>
      series
        .filter((s) => s.name === name && Object.entries(labels).every(([key, value]) => s.labels[key] === value))
        .reduce((sum, s) => sum + s.value, 0),
  };
}
