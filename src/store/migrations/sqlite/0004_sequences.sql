-- Named counters that never go back (template Definitions are not reused after a delete).

CREATE TABLE sequences (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
