//! API tests: every test spawns the real application on port 0 against a fresh database and
//! talks to it over HTTP. Operations are awaited through `:wait`, never with sleeps; a step gate
//! holds running operations at known checkpoints when a test needs a mid-operation state.

#[path = "../common/github.rs"]
mod github_standin;
mod helpers;
#[path = "../common/openai.rs"]
mod openai;
#[path = "../common/rerank.rs"]
mod rerank_standin;
mod site;

mod ingest;

mod apifuzz;
mod assets;
mod auth;
mod buckets;
mod cli;
mod connected;
mod console;
mod embeddings;
mod encodings;
mod estimate;
mod files;
mod gdrive;
mod generations;
mod generators;
mod github;
mod metadata;
mod notion;
mod oauth;
mod ocr;
mod operations;
mod pagination;
mod recovery;
mod remote;
mod rerank;
mod search;
mod system;
mod tenancy;
mod tidy;
mod web;
