//! The dashboard's files, embedded at compile time from `assets/`, each with its content type.

/// One embedded file.
pub(crate) struct Asset {
    /// The path below `/dashboard/` (`""` is the page itself).
    pub(crate) path: &'static str,
    pub(crate) content_type: &'static str,
    pub(crate) bytes: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const SVG: &str = "image/svg+xml";

macro_rules! asset {
    ($path:literal, $content_type:expr) => {
        Asset {
            path: $path,
            content_type: $content_type,
            bytes: include_bytes!(concat!("../assets/", $path)),
        }
    };
}

/// Every file the page loads. `index.html` is also served at the folder itself.
pub(crate) const ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("style.css", CSS),
    asset!("icon.svg", SVG),
    asset!("js/app.js", JS),
    asset!("js/api.js", JS),
    asset!("js/watch.js", JS),
    asset!("js/ui.js", JS),
    asset!("js/status.js", JS),
    asset!("js/yaml.js", JS),
    asset!("js/overview.js", JS),
    asset!("js/workloads.js", JS),
    asset!("js/pods.js", JS),
    asset!("js/network.js", JS),
    asset!("js/deploy.js", JS),
    asset!("js/registry.js", JS),
];
