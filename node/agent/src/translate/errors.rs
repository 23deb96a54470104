//! Why a pod or container cannot be translated: a reference that does not resolve
//! (Kubernetes' CreateContainerConfigError, with its message wording) or something a Wasm
//! container cannot do.

/// A ConfigMap, Secret, key or field the pod refers to is missing or invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("configmap \"{name}\" not found")]
    ConfigMapNotFound { name: String },
    #[error("secret \"{name}\" not found")]
    SecretNotFound { name: String },
    #[error("couldn't find key {key} in ConfigMap {namespace}/{name}")]
    ConfigMapKeyNotFound {
        namespace: String,
        name: String,
        key: String,
    },
    #[error("couldn't find key {key} in Secret {namespace}/{name}")]
    SecretKeyNotFound {
        namespace: String,
        name: String,
        key: String,
    },
    #[error("unsupported fieldPath: {0}")]
    FieldPath(String),
    #[error("unsupported container resource : {0}")]
    Resource(String),
    #[error("container {0} not found for resourceFieldRef")]
    ResourceContainer(String),
    #[error("invalid quantity {0:?}")]
    Quantity(String),
    #[error("failed to fetch token: no token issued yet for service account \"{account}\"")]
    TokenNotIssued { account: String },
}

/// Something the pod asks for that a Wasm container cannot do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsupported {
    #[error(
        "container {container}: the {probe} probe uses exec, and Wasm containers have no exec \
         (use httpGet or tcpSocket)"
    )]
    ExecProbe {
        container: String,
        probe: &'static str,
    },
    #[error("container {container}: the {probe} probe uses grpc, which skiff does not support")]
    GrpcProbe {
        container: String,
        probe: &'static str,
    },
    #[error(
        "volume {volume}: Wasm pods support configMap, secret, emptyDir, downwardAPI and projected volumes"
    )]
    VolumeType { volume: String },
    #[error("container {container}: volumeMount {volume} names no volume of the pod")]
    UnknownVolume { container: String, volume: String },
    #[error(
        "container {container}: volumeMount {volume} uses subPath, which preopened directories do not support"
    )]
    SubPath { container: String, volume: String },
    #[error("volume {volume}: item path {path:?} must be relative and stay inside the volume")]
    ItemPath { volume: String, path: String },
    #[error("container {container}: port {port} is not a TCP/UDP port number")]
    Port { container: String, port: i32 },
}

/// Why a container (or the pod's volumes) cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Unsupported(#[from] Unsupported),
}

/// The waiting reason Kubernetes shows for a missing reference.
pub const CONFIG_ERROR_REASON: &str = "CreateContainerConfigError";
/// The waiting reason Kubernetes shows when the runtime cannot create a container.
pub const CREATE_ERROR_REASON: &str = "CreateContainerError";

impl PlanError {
    /// The container's waiting reason while this error holds it.
    pub fn reason(&self) -> &'static str {
        match self {
            PlanError::Config(_) => CONFIG_ERROR_REASON,
            PlanError::Unsupported(_) => CREATE_ERROR_REASON,
        }
    }
}
