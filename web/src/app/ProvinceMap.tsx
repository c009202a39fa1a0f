// A small, light map of the province for the citizen app: the boundary drawn as SVG from
// /api/geo/units/82 (no map library, so the app stays small on phones). Tapping picks a point.
import type { Geometry, Position } from "geojson";
import { type MouseEvent, useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { type AdminUnit, api } from "../shared/api";
import { type BBox, bboxOf } from "../shared/geometry";

const WIDTH = 600;

interface Projection {
  box: BBox;
  scale: number;
  kx: number;
  height: number;
}

function projection(box: BBox): Projection {
  const kx = Math.cos((((box[1] + box[3]) / 2) * Math.PI) / 180);
  const scale = WIDTH / ((box[2] - box[0]) * kx);
  return { box, scale, kx, height: (box[3] - box[1]) * scale };
}

const toXY = (p: Projection, lon: number, lat: number): [number, number] => [(lon - p.box[0]) * p.kx * p.scale, (p.box[3] - lat) * p.scale];
const toLonLat = (p: Projection, x: number, y: number): [number, number] => [x / (p.kx * p.scale) + p.box[0], p.box[3] - y / p.scale];

function pathOf(geometry: Geometry, p: Projection): string {
  const polygons: Position[][][] = geometry.type === "MultiPolygon" ? geometry.coordinates : geometry.type === "Polygon" ? [geometry.coordinates] : [];
  let d = "";
  for (const polygon of polygons) {
    for (const ring of polygon) {
      let last: [number, number] | null = null;
      for (const [lon, lat] of ring) {
        const [x, y] = toXY(p, lon, lat);
        // Drop points closer than half a unit to the last one: invisible, and it keeps the path small.
        if (last && Math.abs(x - last[0]) < 0.5 && Math.abs(y - last[1]) < 0.5) continue;
        d += `${last ? "L" : "M"}${x.toFixed(1)} ${y.toFixed(1)}`;
        last = [x, y];
      }
      d += "Z";
    }
  }
  return d;
}

export function ProvinceMap({ picked, onPick }: { picked: { lat: number; lon: number } | null; onPick: (lat: number, lon: number) => void }) {
  const { t } = useTranslation();
  const [unit, setUnit] = useState<AdminUnit | null>(null);
  const [failed, setFailed] = useState(false);
  const svgRef = useRef<SVGSVGElement>(null);

  useEffect(() => {
    api<AdminUnit>("/api/geo/units/82").then(setUnit, () => setFailed(true));
  }, []);

  const drawn = useMemo(() => {
    if (!unit?.boundary) return null;
    const box = unit.bbox ?? bboxOf([unit.boundary]);
    if (!box) return null;
    const pad = 0.02;
    const p = projection([box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad]);
    return { p, d: pathOf(unit.boundary, p) };
  }, [unit]);

  if (failed) return <p className="map-note error">{t("citizen.mapError")}</p>;
  if (!drawn) return <div className="mini-map mini-map-loading">{t("citizen.mapLoading")}</div>;

  const { p, d } = drawn;
  // A tap picks that point; a keyboard "click" (detail 0) picks the centre of the province.
  const pick = (e: MouseEvent<HTMLButtonElement>) => {
    const svg = svgRef.current;
    const ctm = svg?.getScreenCTM();
    if (!svg || !ctm) return;
    const [x, y] = e.detail === 0 ? [WIDTH / 2, p.height / 2] : (({ x, y }) => [x, y])(new DOMPoint(e.clientX, e.clientY).matrixTransform(ctm.inverse()));
    const [lon, lat] = toLonLat(p, x, y);
    onPick(lat, lon);
  };
  const marker = picked ? toXY(p, picked.lon, picked.lat) : null;

  return (
    <button type="button" className="mini-map-button" aria-label={t("citizen.mapLabel")} onClick={pick} data-testid="mini-map">
      <svg ref={svgRef} className="mini-map" viewBox={`0 0 ${WIDTH} ${p.height.toFixed(0)}`} aria-hidden="true">
        <path d={d} className="mini-map-land" fillRule="evenodd" />
        {marker && (
          <g transform={`translate(${marker[0].toFixed(1)} ${marker[1].toFixed(1)})`} className="mini-map-marker">
            <circle r="14" className="pulse" />
            <circle r="7" />
          </g>
        )}
      </svg>
    </button>
  );
}
