-- Collection of package file content no version references (issue 17,
-- package-blob.store.ts collectUnreferenced): a blob is used when it is
-- written, found again by an upload of the same bytes, named by a version
-- being registered, or read by a download (touched at most every
-- PACKAGE_BLOB_TOUCH_MS while the download runs). A blob no package file
-- names and not used for the grace period is removed with its chunks.
ALTER TABLE package_blobs ADD COLUMN last_used_at timestamptz NOT NULL DEFAULT now();
