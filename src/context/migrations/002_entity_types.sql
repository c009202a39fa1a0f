-- One row per (entity, type), kept in step with context.entities.types by triggers. Its primary
-- key walks the entities of one type in id order, so a query on one type (type=X&q=…&limit=20)
-- reads its first page without stepping over the entities of every type that sorts before X
-- (the GIN index on types cannot give id order; the primary key alone mixes all types).
CREATE TABLE context.entity_types (
  tenant text NOT NULL,
  type text NOT NULL,
  id text NOT NULL,
  PRIMARY KEY (tenant, type, id)
);

INSERT INTO context.entity_types (tenant, type, id)
SELECT DISTINCT e.tenant, t, e.id FROM context.entities e, unnest(e.types) t;

-- Inserts and deletes: once per statement, from its transition table (batch upserts insert 1000
-- entities in one statement).
CREATE FUNCTION context.entity_types_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO context.entity_types (tenant, type, id)
  SELECT DISTINCT n.tenant, t, n.id FROM new_rows n, unnest(n.types) t
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE FUNCTION context.entity_types_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM context.entity_types x USING old_rows o WHERE x.tenant = o.tenant AND x.id = o.id;
  RETURN NULL;
END $$;

-- Updates: per row, and only when the types changed (attribute updates never call it).
CREATE FUNCTION context.entity_types_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM context.entity_types WHERE tenant = OLD.tenant AND id = OLD.id AND NOT (type = ANY (NEW.types));
  INSERT INTO context.entity_types (tenant, type, id)
  SELECT DISTINCT NEW.tenant, t, NEW.id FROM unnest(NEW.types) t
  ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$;

CREATE TRIGGER entity_types_insert AFTER INSERT ON context.entities
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION context.entity_types_inserted();
CREATE TRIGGER entity_types_delete AFTER DELETE ON context.entities
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION context.entity_types_deleted();
CREATE TRIGGER entity_types_update AFTER UPDATE OF types ON context.entities
  FOR EACH ROW WHEN (OLD.types IS DISTINCT FROM NEW.types) EXECUTE FUNCTION context.entity_types_updated();
