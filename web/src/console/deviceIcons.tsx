// Pictograms of device types (24×24, stroke), used as SVG in the pages and drawn onto canvases
// (Path2D takes the same path data) for the map's symbols, which has no sprites.
import { SvgIcon } from "./icons";

export const TYPE_ICON_PATHS: Record<string, string> = {
  // a gauge staff standing in waves
  WaterLevelObserved:
    "M12 3v11M12 5h3M12 8h2M12 11h3M3 17.5c1.5 0 1.5-1.2 3-1.2s1.5 1.2 3 1.2 1.5-1.2 3-1.2 1.5 1.2 3 1.2 1.5-1.2 3-1.2 1.5 1.2 3 1.2M3 21c1.5 0 1.5-1.2 3-1.2s1.5 1.2 3 1.2 1.5-1.2 3-1.2 1.5 1.2 3 1.2 1.5-1.2 3-1.2 1.5 1.2 3 1.2",
  // an insect
  InsectTrap: "M9 8.5a3 3 0 0 1 6 0M8.5 10h7v4.5a3.5 3.5 0 0 1-7 0zM12 10v8M8.5 12H5M15.5 12H19M8.7 15.5 5.5 17.5M15.3 15.5l3.2 2M10 6 8.5 3.5M14 6l1.5-2.5",
  // wind
  AirQualityObserved: "M3 8.5h10.5a2.8 2.8 0 1 0-2.8-2.8M3 12.5h15a3 3 0 1 1-3 3M3 16.5h7",
  // a drop
  WaterQualityObserved: "M12 3.2s5.8 6.3 5.8 10.6a5.8 5.8 0 0 1-11.6 0C6.2 9.5 12 3.2 12 3.2zM9.2 14.2a2.9 2.9 0 0 0 2.8 2.9",
  // a light bulb
  Streetlight: "M9.5 18h5M10.5 21h3M12 3a5.8 5.8 0 0 0-3.4 10.5c.6.5.9 1.1.9 1.8v.2h5v-.2c0-.7.3-1.3.9-1.8A5.8 5.8 0 0 0 12 3z",
  // a car
  TrafficFlowObserved: "M5 15.5v-4l2-5h10l2 5v4M3.5 15.5h17v3h-17zM6.5 18.5v2M17.5 18.5v2M5 11.5h14",
  // a camera
  Camera: "M3 8h3.5l1.8-2.6h7.4L17.5 8H21v11H3zM12 16.3a3.2 3.2 0 1 0 0-6.4 3.2 3.2 0 0 0 0 6.4z",
  // a generic sensor chip
  default: "M7 7h10v10H7zM10 3.5V7M14 3.5V7M10 17v3.5M14 17v3.5M3.5 10H7M3.5 14H7M17 10h3.5M17 14h3.5",
};

export const typeIconPath = (type: string) => TYPE_ICON_PATHS[type] ?? TYPE_ICON_PATHS.default;

export function TypeIcon({ type, size = 20 }: { type: string; size?: number }) {
  return <SvgIcon d={typeIconPath(type)} size={size} />;
}
