// ECharts, with only what the console's charts use (line series, grid, tooltip, mark lines and
// areas, zoom by wheel/drag, canvas renderer), to keep the device page's chunk small (ECharts'
// core alone is most of its ~570 kB; the chunk loads only with the device page).
import { LineChart, type LineSeriesOption } from "echarts/charts";
import {
  DataZoomInsideComponent,
  type DataZoomComponentOption,
  GridComponent,
  type GridComponentOption,
  MarkAreaComponent,
  MarkLineComponent,
  TooltipComponent,
  type TooltipComponentOption,
} from "echarts/components";
import { type ComposeOption, init, use } from "echarts/core";
import { CanvasRenderer } from "echarts/renderers";

use([LineChart, GridComponent, TooltipComponent, MarkLineComponent, MarkAreaComponent, DataZoomInsideComponent, CanvasRenderer]);

export type ChartOption = ComposeOption<LineSeriesOption | GridComponentOption | TooltipComponentOption | DataZoomComponentOption>;
export type { LineSeriesOption };
export { init };

/**
 * ECharts draws times in the browser's time zone; the console shows Vietnam's (UTC+7, no daylight
 * saving). Shift a timestamp so that its local wall-clock reading is the time in Vietnam.
 */
export function toVietnamWallClock(ms: number): number {
  return ms + (420 + new Date(ms).getTimezoneOffset()) * 60_000;
}
