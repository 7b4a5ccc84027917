-- Whether a chunk's text was read by OCR (its page had no text layer).
ALTER TABLE chunks ADD COLUMN ocr BOOLEAN NOT NULL DEFAULT FALSE;
