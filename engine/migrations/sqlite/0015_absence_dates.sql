-- Who stands in for whom today is read once per group commit by the last day of each
-- absence: only absences not yet over are read, however long the table's past grows.
CREATE INDEX absences_to ON absences (to_date);
