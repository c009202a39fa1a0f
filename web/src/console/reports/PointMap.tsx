// A small map of one report's position: the console's offline style and boundaries, and a marker.
import "maplibre-gl/dist/maplibre-gl.css";
import { type GeoJSONSource, Map as MapLibreMap, Marker } from "maplibre-gl";
import { useEffect, useRef } from "react";
import { loadCommuneShapes, loadProvinceShape } from "../data";
import { mapStyle } from "../mapStyle";

export default function PointMap({ lat, lon }: { lat: number; lon: number }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!ref.current) return;
    let map: MapLibreMap | undefined;
    try {
      map = new MapLibreMap({ container: ref.current, style: mapStyle(), center: [lon, lat], zoom: 13, attributionControl: false, dragRotate: false });
      new Marker({ color: "#b3261e" }).setLngLat([lon, lat]).addTo(map);
      const m = map;
      // The same offline boundaries as the console's map, for orientation.
      m.on("load", () => {
        void loadCommuneShapes().then(
          (fc) => (m.getSource("communes") as GeoJSONSource | undefined)?.setData(fc),
          () => {},
        );
        void loadProvinceShape().then(
          (fc) => (m.getSource("province") as GeoJSONSource | undefined)?.setData(fc),
          () => {},
        );
      });
    } catch {
      // No WebGL: the coordinates are shown beside the map anyway.
    }
    return () => map?.remove();
  }, [lat, lon]);
  return <div ref={ref} className="report-map" data-testid="report-map" />;
}
