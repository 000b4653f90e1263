/**
 * Apache ECharts, tree-shaken to what the console draws (bar and line charts, a scatter for marked
 * samples, zoom, tooltips, legends, the aria description), on the canvas renderer. `mountChart`
 * sizes a chart to its element and follows its resizes; `dispose` releases it.
 */

import type { BarSeriesOption, LineSeriesOption, ScatterSeriesOption } from 'echarts/charts';
import { BarChart, LineChart, ScatterChart } from 'echarts/charts';
import type {
  AriaComponentOption,
  DataZoomComponentOption,
  GridComponentOption,
  LegendComponentOption,
  MarkAreaComponentOption,
  MarkLineComponentOption,
  TooltipComponentOption,
} from 'echarts/components';
import {
  AriaComponent,
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  TooltipComponent,
} from 'echarts/components';
import { type ComposeOption, init, use } from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';

use([
  BarChart,
  LineChart,
  ScatterChart,
  AriaComponent,
  DataZoomComponent,
  GridComponent,
  LegendComponent,
  MarkAreaComponent,
  MarkLineComponent,
  TooltipComponent,
  CanvasRenderer,
]);

export type ChartOption = ComposeOption<
  | BarSeriesOption
  | LineSeriesOption
  | ScatterSeriesOption
  | AriaComponentOption
  | DataZoomComponentOption
  | GridComponentOption
  | LegendComponentOption
  | MarkAreaComponentOption
  | MarkLineComponentOption
  | TooltipComponentOption
>;

export interface MountedChart {
  /** Merges `option` into the chart (`replace`: drops what `option` does not name). */
  set(option: ChartOption, replace?: boolean): void;
  dispose(): void;
}

/** The chart font follows the page's (system fonts with the Chinese fallbacks). */
const textStyle = { fontFamily: 'inherit' };

export function mountChart(element: HTMLElement): MountedChart {
  const chart = init(element, undefined, { renderer: 'canvas' });
  const observer = new ResizeObserver(() => chart.resize());
  observer.observe(element);
  return {
    set(option, replace = false) {
      chart.setOption(
        { textStyle, aria: { enabled: true }, ...option },
        { notMerge: replace, lazyUpdate: true },
      );
    },
    dispose() {
      observer.disconnect();
      chart.dispose();
    },
  };
}
