-- Administrative units: provinces and communes/wards (two-level local government since 1 July 2025).
CREATE SCHEMA IF NOT EXISTS geo;

CREATE TABLE geo.units (
  code text PRIMARY KEY,
  parent_code text REFERENCES geo.units (code),
  level text NOT NULL CHECK (level IN ('province', 'commune')),
  name text NOT NULL,
  name_en text NOT NULL,
  full_name text NOT NULL,
  full_name_en text NOT NULL,
  unit_type text NOT NULL,
  unit_type_en text NOT NULL,
  code_name text NOT NULL,
  area_km2 double precision,
  -- [minLon, minLat, maxLon, maxLat] of the boundary, when there is one
  bbox double precision[],
  boundary jsonb,
  search text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX units_parent_idx ON geo.units (parent_code, code);
CREATE INDEX units_level_idx ON geo.units (level);
