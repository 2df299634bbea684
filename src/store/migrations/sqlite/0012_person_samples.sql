-- Person samples (CreatePersonSample...): the people face recognition looks for, per application.
-- usages and tags are JSON arrays; faces a JSON array of {faceId, key, descriptor}: the blob key
-- of each picture and its 128-d face descriptor, computed once when the picture was added.

CREATE TABLE person_samples (
  app_id INTEGER NOT NULL,
  person_id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  usages TEXT NOT NULL,
  tags TEXT NOT NULL,
  faces TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  PRIMARY KEY (app_id, person_id)
);
