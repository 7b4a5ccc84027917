-- Whether an asset reads pages without a text layer (and uploaded images) by OCR.
ALTER TABLE assets ADD COLUMN ocr BOOLEAN NOT NULL DEFAULT TRUE;
-- Pages an operation read by OCR, pages it found to read, and the share of the documents it is
-- reading that is done (millionths of a document), for progress within long scans.
ALTER TABLE operations ADD COLUMN ocr_pages BIGINT NOT NULL DEFAULT 0;
ALTER TABLE operations ADD COLUMN ocr_pages_total BIGINT NOT NULL DEFAULT 0;
ALTER TABLE operations ADD COLUMN partial_ppm BIGINT NOT NULL DEFAULT 0;
