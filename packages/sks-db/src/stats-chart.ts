// The stats page's chart of keys added per day: inline SVG drawn here, so the page needs no script and nothing from
// elsewhere. Its text alternative (<title>, <desc>) names every day's figure; the Daily Histogram table under it
// holds the same numbers for those who read tables.
import type { StatsSnapshot } from '@sks/keystore';

type Bucket = StatsSnapshot['daily'][number];

const WIDTH = 420;
const HEIGHT = 200;
const LEFT = 8;
const TOP = 22;
const BOTTOM = 30;

function day(unix: number): string {
  return new Date(unix * 1000).toISOString().slice(0, 10);
}

/** A bar per day (oldest first, as the snapshot holds them), the count above each bar, the date under it. */
export function dailyAdditionsChart(days: Bucket[]): string {
  const max = Math.max(1, ...days.map((d) => d.added));
  const slot = (WIDTH - 2 * LEFT) / Math.max(1, days.length);
  const barWidth = Math.round(slot * 0.6);
  const plot = HEIGHT - TOP - BOTTOM;
  const total = days.reduce((n, d) => n + d.added, 0);
  const desc = days.map((d) => `${day(d.start)}: ${d.added}`).join(', ');
  const bars = days.map((d, i) => {
    const h = d.added === 0 ? 0 : Math.max(2, Math.round((d.added / max) * plot));
    const x = Math.round(LEFT + i * slot + (slot - barWidth) / 2);
    const mid = Math.round(LEFT + i * slot + slot / 2);
    const y = TOP + plot - h;
    return (
      `<rect class="bar" x="${x}" y="${y}" width="${barWidth}" height="${h}" />` +
      `<text class="value" x="${mid}" y="${y - 6}" text-anchor="middle">${d.added}</text>` +
      `<text class="day" x="${mid}" y="${HEIGHT - 10}" text-anchor="middle">${day(d.start).slice(5)}</text>`
    );
  });
  return (
    '<figure class="chart">\n' +
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="chart-title chart-desc">\n` +
    `<title id="chart-title">Keys added per day, last ${days.length} days (UTC)</title>\n` +
    `<desc id="chart-desc">${total} keys added in all. ${desc}.</desc>\n` +
    `<line class="axis" x1="${LEFT}" y1="${TOP + plot}" x2="${WIDTH - LEFT}" y2="${TOP + plot}" />\n` +
    bars.join('\n') +
    '\n</svg>\n' +
    `<figcaption>Keys added per day over the last ${days.length} days (UTC), ${total} in all; the Daily Histogram ` +
    'table below lists the same figures.</figcaption>\n' +
    '</figure>\n'
  );
}
