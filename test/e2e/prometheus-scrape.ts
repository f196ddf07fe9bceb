/** One scrape of a Prometheus text endpoint with curl, as an operator would: sample name with labels as printed -> value. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function scrapeMetrics(url: string): Promise<Map<string, number>> {
  const { stdout } = await run('curl', ['-sf', url]);
  const samples = new Map<string, number>();
  for (const line of stdout.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}
