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
            && matches!(tokenizer.get_pre_tokenizer(), Some(PreTokenizerWrapper::BertPreTokenizer(_)))
            && matches!(tokenizer.get_normalizer(), Some(NormalizerWrapper::BertNormalizer(n)) if n.lowercase && n.clean_text);
        let specials = tokenizer.get_added_tokens_decoder().values().map(|t| t.content.clone()).collect();
        Self { tokenizer, bert, specials, words: Default::default() }
    }

    fn size(&self, text: &str) -> usize {
        self.fast(text).unwrap_or_else(|| text_splitter::ChunkSizer::size(&self.tokenizer, text))
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
            if let Some(n) = cache.get(piece) {
                return Some(*n);
            }
            let n = count(piece)?;
            cache.insert(piece.to_owned(), n);
            Some(n)
        };
        let wordpiece = |word: &str| {
            use tokenizers::Model;
            self.tokenizer.get_model().tokenize(word).ok().map(|t| t.len())
        };
        let tokenizer = |piece: &str| Some(text_splitter::ChunkSizer::size(&self.tokenizer, piece));
        let mut count = 0;
        let mut word = String::new();
        for piece in text.split([' ', '\t', '\n', '\r']).filter(|p| !p.is_empty()) {
            if !piece.is_ascii() {
                // Long pieces (a CJK paragraph has no ASCII whitespace) are not worth keeping.
                count += if piece.len() <= 64 { cached(piece, &tokenizer)? } else { tokenizer(piece)? };
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
            Sizer::Cl100k => tiktoken_rs::cl100k_base_singleton().encode_ordinary(chunk).len(),
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
                    let title = trimmed[level..].trim().trim_end_matches('#').trim().to_owned();
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
    stack.iter().map(|(_, t)| *t).collect::<Vec<_>>().join(" > ")
}

/// Splits a document into chunks of at most `size` tokens with `overlap` tokens of overlap.
/// `markdown` selects Markdown-aware boundaries.
pub fn chunk_document(text: &str, markdown: bool, sizer: &Sizer, size: usize, overlap: usize) -> Result<Vec<ChunkDraft>, String> {
    let config = |s: Sizer| ChunkConfig::new(size).with_overlap(overlap).map(|c| c.with_sizer(s)).map_err(|e| e.to_string());
    let pieces: Vec<ChunkCharIndex<'_>> = if markdown {
        MarkdownSplitter::new(config(sizer.clone())?).chunk_char_indices(text).collect()
    } else {
        TextSplitter::new(config(sizer.clone())?).chunk_char_indices(text).collect()
    };
    let heads = if markdown { headings(text) } else { Vec::new() };
    // Line starts, to turn byte offsets into 1-based line numbers.
    let line_starts: Vec<usize> = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
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
    fn chunks_carry_offsets_lines_and_token_counts() {
        // 20 tokens: the code block (~14) fits whole, the document (~50) does not.
        let chunks = chunk_document(DOC, true, &Sizer::Cl100k, 20, 0).unwrap();
        assert!(chunks.len() >= 3, "{chunks:#?}");
        for c in &chunks {
            assert!(c.token_count <= 20, "{c:?}");
            let text: String = DOC.chars().skip(c.start_char).take(c.end_char - c.start_char).collect();
            assert_eq!(text, c.content);
            let lines: Vec<&str> = DOC.lines().collect();
            assert!(lines[c.start_line - 1].contains(c.content.lines().next().unwrap()));
        }
        let code = chunks.iter().find(|c| c.content.contains("cargo install")).unwrap();
        assert!(code.content.starts_with("```sh") && code.content.ends_with("```"), "the code block stays whole: {code:?}");
        assert_eq!(code.heading_path, "Guide > Install");
    }
}
