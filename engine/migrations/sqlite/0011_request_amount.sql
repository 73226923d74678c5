-- A request's amount (its summary's first money value), for the inbox's "largest
-- amount first" order; NULL for a process without money or a request before this.
ALTER TABLE instances ADD COLUMN amount REAL;
