//! Compiles the vendored Kubernetes `.proto` files (`proto/`, see its README) into one
//! `FileDescriptorSet` with protox (a protobuf compiler in Rust: no `protoc` on the machine),
//! which `skiff_api::protobuf` loads into a prost-reflect descriptor pool.

use std::path::PathBuf;

/// The files compiled; their imports (apimachinery's meta, runtime, intstr, resource) come
/// along.
const FILES: &[&str] = &[
    "k8s.io/api/core/v1/generated.proto",
    "k8s.io/api/apps/v1/generated.proto",
    "k8s.io/api/batch/v1/generated.proto",
    "k8s.io/api/autoscaling/v1/generated.proto",
    "k8s.io/api/autoscaling/v2/generated.proto",
    "k8s.io/api/policy/v1/generated.proto",
    "k8s.io/api/coordination/v1/generated.proto",
    "k8s.io/api/discovery/v1/generated.proto",
    "k8s.io/api/events/v1/generated.proto",
    "k8s.io/api/rbac/v1/generated.proto",
    "k8s.io/api/authentication/v1/generated.proto",
    "k8s.io/api/authorization/v1/generated.proto",
    "skiff/networking/v1/networkpolicy.proto",
    "gnostic/openapiv2/OpenAPIv2.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto");
    let set = protox::Compiler::new(["proto"])?
        .include_source_info(false)
        .include_imports(true)
        .open_files(FILES)?
        .file_descriptor_set();
    let out = PathBuf::from(std::env::var("OUT_DIR")?).join("kubernetes.bin");
    std::fs::write(out, prost::Message::encode_to_vec(&set))?;
    Ok(())
}
