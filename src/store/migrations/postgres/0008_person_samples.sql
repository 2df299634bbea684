-- Person samples (CreatePersonSample...): the people face recognition looks for, per application.
-- usages and tags are JSON arrays; faces a JSON array of {faceId, key, descriptor}: the blob key
-- of each picture and its 128-d face descriptor, computed once when the picture was added.

CREATE TABLE person_samples (
  app_id BIGINT NOT NULL,
  person_id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  usages JSONB NOT NULL,
  tags JSONB NOT NULL,
  faces JSONB NOT NULL,
  create_time BIGINT NOT NULL,
  update_time BIGINT NOT NULL,
  PRIMARY KEY (app_id, person_id)
);
