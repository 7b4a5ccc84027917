//! Chunking by the embedding model's tokens, with `text-splitter` doing the boundary work.
//!
//! Markdown is split at the highest semantic level that fits (sections, then paragraphs, then
//! sentences); plain text at paragraphs, then sentences. Each chunk carries the trail of Markdown
//! headings above it, so `contextText` can say where it comes from.

use std::sync::Arc;
use text_splitter::{ChunkCharIndex, ChunkConfig, MarkdownSplitter, TextSplitter};

/// Counts tokens the way the asset's embedding model does.
#[derive(Clone)]
pub enum Sizer {
    /// A Hugging Face tokenizer (the local model's `tokenizer.json`), truncation off.
    HuggingFace(Arc<WordPieceSizer>),
    /// OpenAI's `cl100k_base` (text-embedding-3-*, ada-002).
    Cl100k,
}

/// A Hugging Face tokenizer that counts text for a BERT-style tokenizer (all-MiniLM-L6-v2's:
/// `BertNormalizer` with lowercasing, `BertPreTokenizer`, `WordPiece`) without running its
/// general machinery on every candidate chunk. Every step of that pipeline is local to the
/// pieces between ASCII whitespace, so the text is cut there: an ASCII piece is cleaned,
/// lowercased and split at punctuation exactly as those steps do for ASCII, each word's WordPiece
/// count coming from the model itself; any other piece is counted by the tokenizer; both are
/// cached. Text that contains a special token, or another kind of tokenizer, goes through the
/// tokenizer whole. Splitting a document sizes thousands of overlapping candidates, so this was
/// most of chunking's cost.
pub struct WordPieceSizer {
    tokenizer: tokenizers::Tokenizer,
    /// Whether the fast path applies to this tokenizer at all.
    bert: bool,
    /// Special tokens, which the tokenizer matches in raw text before normalising.
    specials: Vec<String>,
    words: std::sync::Mutex<std::collections::HashMap<String, usize>>,
}

/// Words remembered at most; the cache starts over beyond it.
const WORD_CACHE: usize = 200_000;

impl WordPieceSizer {
    fn new(tokenizer: tokenizers::Tokenizer) -> Self {
        use tokenizers::{ModelWrapper, NormalizerWrapper, PreTokenizerWrapper};
        let bert = matches!(tokenizer.get_model(), ModelWrapper::WordPiece(_))
            && matches!(
                tokenizer.get_pre_tokenizer(),
                Some(PreTokenizerWrapper::BertPreTokenizer(_))
            )
            && matches!(tokenizer.get_normalizer(), Some(NormalizerWrapper::BertNormalizer(n)) if n.lowercase && n.clean_text);
        let specials = tokenizer
            .get_added_tokens_decoder()
            .values()
            .map(|t| t.content.clone())
            .collect();
        Self {
            tokenizer,
            bert,
            specials,
            words: Default::default(),
        }
    }

    fn size(&self, text: &str) -> usize {
        self.fast(text)
            .unwrap_or_else(|| text_splitter::ChunkSizer::size(&self.tokenizer, text))
    }

    /// The count, or `None` when the tokenizer must count the whole text.
    fn fast(&self, text: &str) -> Option<usize> {
        if !self.bert || self.specials.iter().any(|s| text.contains(s.as_str())) {
            return None;
        }
        let mut cache = self.words.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() > WORD_CACHE {
            cache.clear();
        }
        let mut cached = |piece: &str, count: &dyn Fn(&str) -> Option<usize>| -> Option<usize> {
            // Long pieces (a CJK paragraph has no ASCII whitespace; a run of base64) are rare
            // and would make the cache large: they are counted, not kept.
            if piece.len() > 64 {
                return count(piece);
            }
            if let Some(n) = cache.get(piece) {
                return Some(*n);
            }
            let n = count(piece)?;
            cache.insert(piece.to_owned(), n);
            Some(n)
        };
        let wordpiece = |word: &str| {
            use tokenizers::Model;
            self.tokenizer
                .get_model()
                .tokenize(word)
                .ok()
                .map(|t| t.len())
        };
        let tokenizer = |piece: &str| Some(text_splitter::ChunkSizer::size(&self.tokenizer, piece));
        let mut count = 0;
        let mut word = String::new();
        for piece in text
            .split([' ', '\t', '\n', '\r'])
            .filter(|p| !p.is_empty())
        {
            if !piece.is_ascii() {
                count += cached(piece, &tokenizer)?;
                continue;
            }
            for b in piece.bytes() {
                match b {
                    // Control characters are removed, joining what surrounds them.
                    0..=0x1f | 0x7f => {}
                    // Punctuation is a word of its own.
                    _ if b.is_ascii_punctuation() => {
                        if !word.is_empty() {
                            count += cached(&word, &wordpiece)?;
                            word.clear();
                        }
                        count += cached(std::str::from_utf8(&[b]).ok()?, &wordpiece)?;
                    }
                    _ => word.push(b.to_ascii_lowercase() as char),
                }
            }
            if !word.is_empty() {
                count += cached(&word, &wordpiece)?;
                word.clear();
            }
        }
        Some(count)
    }
}

impl Sizer {
    /// A sizer from a `tokenizer.json`; truncation and padding are turned off so that sizes are
    /// the full text's.
    pub fn from_tokenizer_file(path: &std::path::Path) -> Result<Self, String> {
        let mut t = tokenizers::Tokenizer::from_file(path).map_err(|e| e.to_string())?;
        t.with_truncation(None).map_err(|e| e.to_string())?;
        t.with_padding(None);
        Ok(Sizer::HuggingFace(Arc::new(WordPieceSizer::new(t))))
    }

    /// Tokens of `text` without special tokens.
    pub fn count(&self, text: &str) -> usize {
        text_splitter::ChunkSizer::size(self, text)
    }
}

impl text_splitter::ChunkSizer for Sizer {
    fn size(&self, chunk: &str) -> usize {
        match self {
            Sizer::HuggingFace(t) => t.size(chunk),
            Sizer::Cl100k => tiktoken_rs::cl100k_base_singleton()
                .encode_ordinary(chunk)
                .len(),
        }
    }
}

/// One chunk of a document, before embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkDraft {
    pub index: usize,
    pub content: String,
    /// `"Guide > Install"`: the Markdown headings above the chunk, outermost first.
    pub heading_path: String,
    /// Character (not byte) offsets into the document text, end exclusive.
    pub start_char: usize,
    pub end_char: usize,
    /// 1-based line numbers of the chunk's first and last lines.
    pub start_line: usize,
    pub end_line: usize,
    pub token_count: usize,
}

/// ATX headings outside fenced code blocks: (byte offset, level, title).
fn headings(text: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut fence: Option<&str> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let marker = if trimmed.starts_with("```") {
            Some("```")
        } else if trimmed.starts_with("~~~") {
            Some("~~~")
        } else {
            None
        };
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(f), Some(m)) if f == m => fence = None,
            (None, None) => {
                let level = trimmed.bytes().take_while(|b| *b == b'#').count();
                if (1..=6).contains(&level) && trimmed[level..].starts_with([' ', '\t']) {
                    let title = trimmed[level..]
                        .trim()
                        .trim_end_matches('#')
                        .trim()
                        .to_owned();
                    if !title.is_empty() {
                        out.push((offset, level, title));
                    }
                }
            }
            _ => {}
        }
        offset += line.len();
    }
    out
}

/// The heading trail in force at `byte`: the last heading of each level above it.
fn trail_at(headings: &[(usize, usize, String)], byte: usize) -> String {
    let mut stack: Vec<(usize, &str)> = Vec::new();
    for (at, level, title) in headings.iter().take_while(|(at, ..)| *at <= byte) {
        let _ = at;
        while stack.last().is_some_and(|(l, _)| *l >= *level) {
            stack.pop();
        }
        stack.push((*level, title));
    }
    stack
        .iter()
        .map(|(_, t)| *t)
        .collect::<Vec<_>>()
        .join(" > ")
}

/// The sizer the splitter sees: a text longer than `max_bytes` is too big for a chunk without
/// being tokenized. So no tokenizer call sees more than that whatever a document holds (a 50 MB
/// "word" otherwise went through the tokenizer whole for candidate after candidate, and peak
/// memory grew by gigabytes), and such text is cut into chunks of at most `max_bytes`.
struct Capped {
    sizer: Sizer,
    max_bytes: usize,
    too_big: usize,
}

impl text_splitter::ChunkSizer for Capped {
    fn size(&self, chunk: &str) -> usize {
        if chunk.len() > self.max_bytes {
            self.too_big
        } else {
            self.sizer.count(chunk)
        }
    }
}

/// Bytes per token a chunk may average before it is cut by length: real text averages 4–6
/// (code and URLs ~10); more is a run without word boundaries (base64, a minified line).
const MAX_BYTES_PER_TOKEN: usize = 32;
/// The byte cap for small chunk sizes.
const MIN_MAX_CHUNK_BYTES: usize = 16 * 1024;

/// Bytes of text the splitter sees at once. Within a window it finds the best boundaries; a text
/// longer than this is cut into windows first, at blank lines if it has any, else line breaks,
/// else spaces. Documents up to this size are split whole; beyond it the splitter's work and
/// memory stay bounded per window, whatever the text holds.
const WINDOW_BYTES: usize = 256 * 1024;
/// A run of this many bytes without whitespace (base64 data, a minified line, a 50 MB "word") is
/// not split by the splitter, which would size candidate after candidate of it with the
/// tokenizer: it is cut into pieces of this size, each a chunk of its own.
const RUN_BYTES: usize = 4 * 1024;

/// A stretch of the text: `(start, end, is_run)`, in order, covering it.
type Segment = (usize, usize, bool);

/// The text cut into runs without whitespace of at least [`RUN_BYTES`], and windows of at most
/// [`WINDOW_BYTES`] of everything else.
fn segments(text: &str) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let push_text = |out: &mut Vec<Segment>, mut start: usize, end: usize| {
        while end - start > WINDOW_BYTES {
            let mut limit = start + WINDOW_BYTES;
            while !text.is_char_boundary(limit) {
                limit -= 1;
            }
            let part = &text[start..limit];
            let half = part.len() / 2;
            let cut = ["\n\n", "\n", " "]
                .iter()
                .find_map(|sep| {
                    part.rfind(sep)
                        .filter(|&i| i >= half)
                        .map(|i| i + sep.len())
                })
                .unwrap_or(part.len());
            out.push((start, start + cut, false));
            start += cut;
        }
        if start < end {
            out.push((start, end, false));
        }
    };
    let (mut text_start, mut run_start) = (0, 0);
    let close_run =
        |out: &mut Vec<Segment>, text_start: &mut usize, run_start: usize, run_end: usize| {
            if run_end - run_start >= RUN_BYTES {
                push_text(out, *text_start, run_start);
                let mut at = run_start;
                while at < run_end {
                    let mut end = (at + RUN_BYTES).min(run_end);
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    out.push((at, end, true));
                    at = end;
                }
                *text_start = run_end;
            }
        };
    for (i, c) in text.char_indices() {
        if c.is_whitespace() {
            close_run(&mut out, &mut text_start, run_start, i);
            run_start = i + c.len_utf8();
        }
    }
    close_run(&mut out, &mut text_start, run_start, text.len());
    push_text(&mut out, text_start, text.len());
    out
}

/// Splits a document into chunks of at most `size` tokens with `overlap` tokens of overlap.
/// `markdown` selects Markdown-aware boundaries.
pub fn chunk_document(
    text: &str,
    markdown: bool,
    sizer: &Sizer,
    size: usize,
    overlap: usize,
) -> Result<Vec<ChunkDraft>, String> {
    let capped = || Capped {
        sizer: sizer.clone(),
        max_bytes: size
            .saturating_mul(MAX_BYTES_PER_TOKEN)
            .max(MIN_MAX_CHUNK_BYTES),
        too_big: size.saturating_add(1),
    };
    let config = |s: Capped| {
        ChunkConfig::new(size)
            .with_overlap(overlap)
            .map(|c| c.with_sizer(s))
            .map_err(|e| e.to_string())
    };
    // The splitter sees one window at a time and never a long run (see `segments`); offsets are
    // moved to the whole text's.
    let mut pieces: Vec<ChunkCharIndex<'_>> = Vec::new();
    let (markdown_splitter, text_splitter) = (
        MarkdownSplitter::new(config(capped())?),
        TextSplitter::new(config(capped())?),
    );
    let mut chars_before = 0;
    for (start, end, run) in segments(text) {
        let segment = &text[start..end];
        if run {
            pieces.push(ChunkCharIndex {
                chunk: segment,
                byte_offset: start,
                char_offset: chars_before,
            });
        } else {
            let found = if markdown {
                markdown_splitter
                    .chunk_char_indices(segment)
                    .collect::<Vec<_>>()
            } else {
                text_splitter.chunk_char_indices(segment).collect()
            };
            pieces.extend(found.into_iter().map(|p| ChunkCharIndex {
                chunk: p.chunk,
                byte_offset: p.byte_offset + start,
                char_offset: p.char_offset + chars_before,
            }));
        }
        chars_before += segment.chars().count();
    }
    let heads = if markdown { headings(text) } else { Vec::new() };
    // Line starts, to turn byte offsets into 1-based line numbers.
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_of = |byte: usize| line_starts.partition_point(|&s| s <= byte);
    Ok(pieces
        .into_iter()
        .enumerate()
        .map(|(index, p)| {
            let end_byte = p.byte_offset + p.chunk.len();
            ChunkDraft {
                index,
                content: p.chunk.to_owned(),
                heading_path: trail_at(&heads, p.byte_offset),
                start_char: p.char_offset,
                end_char: p.char_offset + p.chunk.chars().count(),
                start_line: line_of(p.byte_offset),
                end_line: line_of(end_byte.saturating_sub(1).max(p.byte_offset)),
                token_count: sizer.count(p.chunk),
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "# Guide\n\nIntro text.\n\n## Install\n\nRun the installer.\n\n```sh\n# not a heading\ncargo install ragd\n```\n\n## Use\n\nStart it.\n";

    #[test]
    fn headings_ignore_code_fences_and_trails_nest() {
        let h = headings(DOC);
        let titles: Vec<&str> = h.iter().map(|(_, _, t)| t.as_str()).collect();
        assert_eq!(titles, ["Guide", "Install", "Use"]);
        assert_eq!(trail_at(&h, DOC.find("cargo").unwrap()), "Guide > Install");
        assert_eq!(trail_at(&h, DOC.find("Start").unwrap()), "Guide > Use");
        assert_eq!(trail_at(&h, 0), "Guide");
    }

    #[test]
    fn huge_words_and_lines_are_cut_in_bounded_windows_with_exact_offsets() {
        // A 400 KB "word" (no whitespace at all) between two paragraphs, then a 300 KB line: each
        // longer than a window.
        let word: String = (0..400_000u32)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect();
        let line: String = (0..50_000).map(|i| format!("w{} ", i % 97)).collect();
        let text =
            format!("# Start\n\nBefore the word.\n\n{word}\n\nAfter é the word.\n\n{line}\n");
        for markdown in [true, false] {
            let start = std::time::Instant::now();
            let chunks = chunk_document(&text, markdown, &Sizer::Cl100k, 200, 40).unwrap();
            assert!(
                start.elapsed() < std::time::Duration::from_secs(60),
                "{:?}",
                start.elapsed()
            );
            let mut covered = 0;
            for c in &chunks {
                assert!(
                    c.content.len() <= MIN_MAX_CHUNK_BYTES.max(200 * MAX_BYTES_PER_TOKEN),
                    "{}",
                    c.content.len()
                );
                assert!(
                    c.token_count <= 200
                        || c.content.len() <= RUN_BYTES && !c.content.contains(' '),
                    "{}",
                    c.token_count
                );
                let at: String = text
                    .chars()
                    .skip(c.start_char)
                    .take(c.end_char - c.start_char)
                    .collect();
                assert_eq!(at, c.content, "offsets point at the chunk");
                covered = covered.max(c.end_char);
            }
            assert!(
                chunks
                    .iter()
                    .any(|c| c.content.contains("After é the word."))
            );
            assert!(
                covered >= text.trim_end().chars().count(),
                "the whole text is chunked"
            );
        }
    }

    #[test]
    fn chunks_carry_offsets_lines_and_token_counts() {
        // 20 tokens: the code block (~14) fits whole, the document (~50) does not.
        let chunks = chunk_document(DOC, true, &Sizer::Cl100k, 20, 0).unwrap();
        assert!(chunks.len() >= 3, "{chunks:#?}");
        for c in &chunks {
            assert!(c.token_count <= 20, "{c:?}");
            let text: String = DOC
                .chars()
                .skip(c.start_char)
                .take(c.end_char - c.start_char)
                .collect();
            assert_eq!(text, c.content);
            let lines: Vec<&str> = DOC.lines().collect();
            assert!(lines[c.start_line - 1].contains(c.content.lines().next().unwrap()));
        }
        let code = chunks
            .iter()
            .find(|c| c.content.contains("cargo install"))
            .unwrap();
        assert!(
            code.content.starts_with("```sh") && code.content.ends_with("```"),
            "the code block stays whole: {code:?}"
        );
        assert_eq!(code.heading_path, "Guide > Install");
    }
}
