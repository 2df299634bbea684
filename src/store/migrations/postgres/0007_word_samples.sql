-- Word samples (CreateWordSamples...): keywords an application's OCR/ASR recognition and review
-- look for, with their usages (Recognition.Ocr, Review.Ocr...) and tags, as JSON arrays.

CREATE TABLE word_samples (
  app_id BIGINT NOT NULL,
  keyword TEXT NOT NULL,
  usages JSONB NOT NULL,
  tags JSONB NOT NULL,
  create_time BIGINT NOT NULL,
  update_time BIGINT NOT NULL,
  PRIMARY KEY (app_id, keyword)
);
