//! The benchmarks' CPU line: the model, the cores, and the SIMD flags the kernels depend on
//! (machines of this kind differ: some have AVX-512 with native bf16, some only AVX2).

/// `"<model>, <n> cores, flags avx2 fma …"`.
pub fn line() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "?".into());
    let flags: std::collections::BTreeSet<&str> = info
        .lines()
        .find_map(|l| l.strip_prefix("flags"))
        .unwrap_or_default()
        .split_whitespace()
        .filter(|f| {
            [
                "avx2",
                "fma",
                "avx512f",
                "avx512_vnni",
                "avx512_bf16",
                "amx_bf16",
            ]
            .contains(f)
        })
        .collect();
    format!(
        "{model}, {} cores, flags {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        flags.into_iter().collect::<Vec<_>>().join(" ")
    )
}
