-- Word samples (CreateWordSamples...): keywords an application's OCR/ASR recognition and review
-- look for, with their usages (Recognition.Ocr, Review.Ocr...) and tags, as JSON arrays.

CREATE TABLE word_samples (
  app_id INTEGER NOT NULL,
  keyword TEXT NOT NULL,
  usages TEXT NOT NULL,
  tags TEXT NOT NULL,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  PRIMARY KEY (app_id, keyword)
);
