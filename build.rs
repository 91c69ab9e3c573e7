//! Embeds the migrations (rebuild when they change) and makes the binaries find libtorch
//! without LD_LIBRARY_PATH: an rpath to `$LIBTORCH/lib`.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    println!("cargo:rerun-if-changed=queries");
    embed_queries();
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_LIB");
    let lib = std::env::var_os("LIBTORCH_LIB")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("LIBTORCH").map(|p| PathBuf::from(p).join("lib")));
    if let Some(lib) = lib {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        // A CUDA libtorch: keep libtorch_cuda linked even though no symbol of it is used
        // directly, so that `Device::cuda_if_available()` finds the GPU.
        if lib.join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
}

/// Writes `$OUT_DIR/queries.rs`: every `queries/*.sql` file as (name, text) in `CANNED`, and
/// every `queries/report/*.sql` file (the report's own queries, not listed by `trainlog query`)
/// in `REPORT`, each sorted by name, so a new query needs no code change. Only files directly in
/// each folder count: the `report/` folder itself is not a query (it has no `.sql` extension).
fn embed_queries() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("queries");
    let mut out = String::new();
    for (table, dir) in [("CANNED", root.clone()), ("REPORT", root.join("report"))] {
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{} exists: {e}", dir.display()))
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "sql"))
            .collect();
        files.sort();
        out.push_str(&format!("pub static {table}: &[(&str, &str)] = &[\n"));
        for f in files {
            println!("cargo:rerun-if-changed={}", f.display());
            let name = f.file_stem().unwrap().to_str().unwrap().to_string();
            out.push_str(&format!(
                "    ({name:?}, include_str!({:?})),\n",
                f.display().to_string()
            ));
        }
        out.push_str("];\n");
    }
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("queries.rs");
    std::fs::write(dest, out).unwrap();
}
