/**
 * The script of an exported notebook page (bundled inline by tools/export.mjs): renders every saved
 * cnnvis result with the lab extension's own front-end code (widgets/src/static.ts), with no kernel
 * and no network. Each result sits in a host element:
 *
 *   <div class="cnnvis-result-host">
 *     <script type="application/json" class="cnnvis-result-data">{…RESULT_MIME data…}</script>
 *     <img class="cnnvis-fallback" src="data:image/png;base64,…">   (shown until this script runs)
 *   </div>
 *
 * The top-classes chart is drawn as plain HTML bars here instead of with vega-embed, so the page needs
 * no chart library. Text from the data goes in with textContent only.
 */
import { renderResult } from '../../widgets/src/static';
import { setChartDrawer } from '../../widgets/src/chart';
import type { ResultData } from 'cnnvis/dist/schema/explorers';

interface BarRow {
  label: string;
  probability: number;
  chosen?: boolean;
}

/** The top-k chart as rows of label, bar and value (the spec's data values; its encoding is fixed). */
async function drawBars(host: HTMLElement, spec: Record<string, unknown>): Promise<void> {
  const rows = ((spec.data as { values?: BarRow[] } | undefined)?.values ?? []).slice().sort((a, b) => b.probability - a.probability);
  const table = document.createElement('div');
  table.className = 'cnnvis-bars';
  table.setAttribute('role', 'img');
  table.setAttribute('aria-label', 'class probabilities');
  for (const r of rows) {
    const row = document.createElement('div');
    row.className = r.chosen ? 'cnnvis-bar-row cnnvis-bar-chosen' : 'cnnvis-bar-row';
    const label = document.createElement('span');
    label.className = 'cnnvis-bar-label';
    label.textContent = String(r.label);
    const track = document.createElement('span');
    track.className = 'cnnvis-bar-track';
    const bar = document.createElement('span');
    bar.className = 'cnnvis-bar';
    bar.style.width = `${Math.max(0, Math.min(1, Number(r.probability) || 0)) * 100}%`;
    track.append(bar);
    const value = document.createElement('span');
    value.className = 'cnnvis-bar-value';
    value.textContent = (Number(r.probability) || 0).toFixed(3);
    row.append(label, track, value);
    table.append(row);
  }
  host.replaceChildren(table);
}

function note(text: string): HTMLElement {
  const d = document.createElement('div');
  d.className = 'cnnvis-note';
  d.textContent = text;
  return d;
}

export function renderAll(root: ParentNode = document): number {
  setChartDrawer(drawBars);
  let count = 0;
  root.querySelectorAll<HTMLElement>('.cnnvis-result-host').forEach((host) => {
    const script = host.querySelector('script.cnnvis-result-data');
    if (!script || host.dataset.rendered) return;
    try {
      const node = renderResult(JSON.parse(script.textContent ?? '') as ResultData);
      host.querySelector('.cnnvis-fallback')?.remove();
      host.append(node);
      host.dataset.rendered = 'true';
      count += 1;
    } catch (e) {
      host.append(note(`interactive view unavailable: ${e instanceof Error ? e.message : String(e)}`));
    }
  });
  document.documentElement.dataset.cnnvisRendered = String(count);
  return count;
}

renderAll();
