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

/// Writes `$OUT_DIR/queries.rs`: every `queries/*.sql` file as (name, text), sorted by name,
/// so a new canned query needs no code change.
fn embed_queries() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("queries");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("queries/ exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sql"))
        .collect();
    files.sort();
    let mut out = String::from("pub static CANNED: &[(&str, &str)] = &[\n");
    for f in files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_stem().unwrap().to_str().unwrap().to_string();
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            f.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("queries.rs");
    std::fs::write(dest, out).unwrap();
}
