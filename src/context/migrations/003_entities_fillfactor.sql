-- Room on each page of the entities for a new version of its rows: an attribute update then
-- stays on the page (a HOT update) and leaves the three indexes alone, since it changes none of
-- the indexed columns. Pages written before this keep their old fill until rewritten.
ALTER TABLE context.entities SET (fillfactor = 80);
