//! `ragd model fetch`: installs the local embedding model by running the setup scripts that are
//! compiled into the binary (`scripts/model/`), so an installed `ragd` needs no source checkout.

use anyhow::{Context, bail};
use std::path::Path;

const FETCH_SH: &str = include_str!("../../../scripts/model/fetch.sh");
const BUILD_ONNX_PY: &str = include_str!("../../../scripts/model/build_onnx.py");

/// Installs the model into `dest` unless it is already there. Progress goes to stderr.
pub fn fetch(dest: &Path) -> anyhow::Result<()> {
    if ragd_embed::ModelFiles::new(dest).check().is_ok() {
        return Ok(());
    }
    let work = tempfile::tempdir().context("creating a temporary directory")?;
    std::fs::write(work.path().join("fetch.sh"), FETCH_SH)?;
    std::fs::write(work.path().join("build_onnx.py"), BUILD_ONNX_PY)?;
    std::fs::create_dir_all(dest).with_context(|| format!("creating {}", dest.display()))?;
    let status = std::process::Command::new("bash")
        .arg(work.path().join("fetch.sh"))
        .arg(dest)
        .status()
        .context("running bash to fetch the model")?;
    if !status.success() {
        bail!("fetching the local model failed ({status}); see the messages above");
    }
    ragd_embed::ModelFiles::new(dest).check()?;
    Ok(())
}
