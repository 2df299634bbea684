-- Who used a signature, for the signatures that only so many may use: one-time client upload
-- signatures (oneTimeValid: one upload session) and Key hotlink URLs with rlimit (that many
-- client IPs). A use takes the next free slot; the two unique keys make taking one a plain
-- insert that a second process racing for the same slot, or the same user, cannot also win.
-- Rows go once the signature has expired (it can no longer be presented then).

CREATE TABLE signature_uses (
  kind TEXT NOT NULL,
  sign TEXT NOT NULL,
  slot INTEGER NOT NULL,
  user_key TEXT NOT NULL,
  expire_time INTEGER NOT NULL,
  PRIMARY KEY (kind, sign, slot),
  UNIQUE (kind, sign, user_key)
);
CREATE INDEX signature_uses_expire ON signature_uses (expire_time);
